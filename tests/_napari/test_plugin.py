"""The plugin as a microscopist meets it: discovery, samples, reader, writer."""

from __future__ import annotations

import numpy as np
import tifffile

from ferromap._napari._reader import get_reader


def test_plugin_is_discovered():
    from npe2 import PluginManager

    pm = PluginManager.instance()
    pm.discover()
    manifest = pm.get_manifest("ferromap")
    titles = {c.title for c in manifest.contributions.commands}
    assert {"Polarization mapping", "Run polarization inference", "Compute CoM maps"} <= titles
    assert {s.key for s in manifest.contributions.sample_data} == {"two-domain", "single-ru"}


def test_sample_opens_with_navigation_image(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample("ferromap", "two-domain")
    data4d = viewer.layers["KNN two-domain (4D)"]
    nav = viewer.layers["KNN two-domain virtual BF"]
    assert data4d.data.shape == (64, 64, 32, 48) and not data4d.visible  # scan axes last
    from ferromap._napari._session import dataset_from_layer

    assert dataset_from_layer(data4d).data.shape == (32, 48, 64, 64)
    assert nav.data.shape == (32, 48) and np.isfinite(nav.data).all()


def test_reader_declines_and_never_raises(tmp_path, notifications):
    assert get_reader(str(tmp_path / "notes.txt")) is None
    assert get_reader([str(tmp_path / "a.npy"), str(tmp_path / "b.npy")]) is None
    bad = tmp_path / "broken.npy"
    bad.write_bytes(b"not numpy")
    reader = get_reader(str(bad))
    assert reader is not None and reader(str(bad)) == [(None,)]  # napari's "no layers"
    errors = [m for s, m in notifications if s == "error"]
    assert len(errors) == 1 and "not a valid .npy" in errors[0]


def test_reader_opens_a_tiff_folder(tmp_path):
    for i in range(9):
        tifffile.imwrite(tmp_path / f"p{i}.tif", np.full((16, 16), i + 1, np.uint16))
    layers = get_reader(str(tmp_path))(str(tmp_path))
    assert layers[0][0].shape == (16, 16, 3, 3) and layers[1][0].shape == (3, 3)


def test_writer_writes_tiff_and_png_with_legend(tmp_path):
    from ferromap._napari._writer import write_polarization

    labels = np.zeros((4, 6), np.uint8)
    labels[:, 3:] = 2
    paths = write_polarization(str(tmp_path / "map.tif"), labels, {"name": "polarization"})
    assert [p[-4:] for p in paths] == [".tif", ".png"]
    np.testing.assert_array_equal(tifffile.imread(paths[0]), labels)


def test_reader_turns_unexpected_errors_into_notifications(tmp_path, notifications,
                                                           monkeypatch):
    import ferromap.io

    def explode(path):
        raise KeyError("corrupt header field")

    monkeypatch.setattr(ferromap.io, "open_4dstem", explode)
    np.save(tmp_path / "d.npy", np.zeros((2, 2, 4, 4)))
    assert get_reader(str(tmp_path / "d.npy"))(str(tmp_path / "d.npy")) == [(None,)]
    assert "corrupt header field" in [m for s, m in notifications if s == "error"][-1]
