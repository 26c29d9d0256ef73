"""The `ferromap predict` file contract, written atomically, read back as users' tools read it."""

from __future__ import annotations

import csv
import json

import h5py
import numpy as np
import pytest
import tifffile

from ferromap.classes import KNN8
from ferromap.colour import class_colours
from ferromap.errors import FerromapError, user_message
from ferromap.pipelines.export import CONTRACT_FILES, export_maps


def test_every_contract_file_holds_the_map(tmp_path, half_mu_maps):
    out = tmp_path / "out"
    export_maps(half_mu_maps, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(CONTRACT_FILES)
    labels = tifffile.imread(out / "labels.tif")
    assert labels.dtype == np.uint8 and labels.shape == (6, 7) and labels[0, 0] == 255
    assert (labels[1:, :3] == KNN8.index("MU")).all() and (labels[:, 4:][labels[:, 4:] != 7]
                                                          == KNN8.index("RM")).all()
    assert tifffile.imread(out / "confidence.tif").dtype == np.float32
    assert tifffile.imread(out / "anomaly.tif")[1, 5] == pytest.approx(0.9)
    mask = tifffile.imread(out / "anomaly_mask.tif")
    assert mask.dtype == np.uint8 and mask.sum() == 1 and mask[1, 5] == 1
    rows = list(csv.reader((out / "predictions.csv").open()))
    assert rows[0] == ["row", "col", "class", "confidence"] and len(rows) == 43
    assert rows[1][2] == "" and rows[2][2] == "MU" and rows[7][2] == "RM"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["classes"] == list(KNN8.names) and summary["n_patterns"] == 42
    assert summary["class_fractions"]["MU"] == pytest.approx(20 / 41)
    assert summary["model"] == "test" and not summary["has_majority"]
    with h5py.File(out / "maps.h5") as f:
        assert f["probs"].shape == (6, 7, 8) and list(f.attrs["classes"]) == list(KNN8.names)
        np.testing.assert_array_equal(f["labels"][:], labels)


def test_picture_shows_mu_left_and_rm_right_with_a_domain_title(tmp_path, half_mu_maps):
    import matplotlib.image

    path = tmp_path / "p.png"
    from ferromap.plotting import save_polarization_map

    save_polarization_map(path, half_mu_maps)
    img = matplotlib.image.imread(path)[..., :3]
    colours = class_colours(KNN8)
    cols = {}
    for name in ("MU", "RM"):
        near = np.abs(img - colours[KNN8.index(name)]).max(axis=-1) < 0.02
        assert near.sum() > 500, f"no {name}-coloured area in the picture"
        cols[name] = np.nonzero(near)[1]
    # the map is the left panel: compare where each colour sits within it
    assert np.median(cols["MU"]) < np.median(cols["RM"])
    assert "domains" in half_mu_maps.title()


def test_refuses_to_overwrite_another_run(tmp_path, half_mu_maps):
    export_maps(half_mu_maps, tmp_path)
    with pytest.raises(FerromapError) as err:
        export_maps(half_mu_maps, tmp_path)
    assert "--force" in user_message(err.value, "cli")
    assert "--force" not in user_message(err.value, "gui")
    export_maps(half_mu_maps, tmp_path, force=True)
    assert not list(tmp_path.glob(".*part"))


def test_exports_carry_the_scan_calibration_users_tools_read(tmp_path, half_mu_maps):
    from rsciio.hspy import file_reader

    export_maps(half_mu_maps, tmp_path)
    with tifffile.TiffFile(tmp_path / "labels.tif") as tif:
        page = tif.pages[0]
        x_res = page.tags["XResolution"].value
        assert tif.imagej_metadata["unit"] == "nm"
        assert x_res[0] / x_res[1] == pytest.approx(1 / 0.05, rel=1e-4)  # pixels per nm
    with h5py.File(tmp_path / "maps.h5") as f:
        assert f.attrs["scan_step_nm"] == pytest.approx(0.05)
        assert f["com_shift_px"].shape == (6, 7, 2)
    signal = file_reader(str(tmp_path / "maps.hspy"))[0]
    nav = signal["axes"][:2]
    assert [a["units"] for a in nav] == ["nm", "nm"] and nav[0]["scale"] == pytest.approx(0.05)
    assert signal["data"].shape == (6, 7, 11)
    np.testing.assert_array_equal(signal["data"][..., 0], half_mu_maps.labels)
    shift = file_reader(str(tmp_path / "com_shift.hspy"))[0]
    np.testing.assert_allclose(shift["data"], half_mu_maps.geometry.shift, rtol=1e-5)
