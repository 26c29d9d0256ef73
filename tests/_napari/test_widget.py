"""The dock widget: CoM, inference, linked diffraction view, export, errors, cleanup."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap._napari._callbacks import select_on_click

from .conftest import MouseEvent


def click(layer, row, col):
    gen = select_on_click(layer, MouseEvent(position=tuple(layer.data_to_world((row, col)))))
    next(gen)


def test_com_maps_layers(widget):
    widget.compute_com()
    mag = widget.viewer.layers["CoM magnitude (mrad)"]
    assert mag.data.shape == (32, 48) and mag.data.dtype == np.float64
    assert widget.viewer.layers["CoM direction"].data.shape == (32, 48, 3)
    vectors = widget.viewer.layers["CoM shift vectors"].data
    assert vectors.shape[1:] == (2, 2) and len(vectors) > 100
    assert widget.progress.value == 1000


def test_inference_layers_legend_and_fractions(widget):
    widget.run_inference()
    labels = widget.viewer.layers["polarization"]
    assert labels.data.shape == (32, 48) and labels.data.dtype == np.uint8
    assert widget.viewer.layers["confidence"].data.dtype == np.float32
    assert widget.viewer.layers["low information"].data.shape == (32, 48)
    assert "anomalies" in widget.viewer.layers
    assert "majority class" in widget.results.value and "MU" in widget.results.value
    assert "RM" in widget.legend.value and "↑" in widget.legend.value
    colour = labels.colormap.map(np.array([2]))[0]  # MU: hue 90° on the wheel
    from ferromap.colour import angle_to_rgb

    np.testing.assert_allclose(colour[:3], angle_to_rgb(np.array(90.0)), atol=0.02)


def test_symmetry_averaging_is_a_checkbox(widget):
    assert widget.symmetrize.value  # conv-proto averages over its 8 orientations by default
    widget.run_inference()
    assert widget.maps.extra["symmetry_passes"] == 8
    widget.symmetrize.value = False
    widget.run_inference()
    assert widget.maps.extra["symmetry_passes"] == 1


def test_click_updates_diffraction_view_and_marker(widget):
    widget.run_inference()
    click(widget.viewer.layers["polarization"], 5, 30)
    view = widget.diffraction.current
    assert (view.row, view.col) == (5, 30)
    np.testing.assert_array_equal(view.pattern, widget.dataset.pattern(5, 30))
    assert "row 5, col 30" in widget.diffraction.text.text()
    text = widget.diffraction.text.text()
    assert "class" in text and "anomaly score" in text
    assert view.crop_box is not None
    step = widget.dataset.calibration.scan_step_nm
    np.testing.assert_allclose(widget.viewer.layers["selected position"].data, [[5 * step, 30 * step]])
    widget._step_callback((0, 1))(widget.viewer)
    assert widget.diffraction.current.col == 31
    shown = widget.diffraction.image.get_array()
    np.testing.assert_allclose(shown, np.log1p(widget.dataset.pattern(5, 31).astype(np.float32)))


def test_export_writes_files_and_refuses_overwrite(widget, tmp_path, errors):
    widget.run_inference()
    widget.export_dir.value = tmp_path
    widget.export()
    assert (tmp_path / "labels.tif").exists() and (tmp_path / "polarization.png").exists()
    assert str(tmp_path) in widget.status.value
    widget.export()
    assert errors and "--force" in errors[-1]


def test_bad_inputs_become_notifications(widget, tmp_path, errors):
    bad = tmp_path / "broken.npy"
    bad.write_bytes(b"junk")
    widget.open_file.value = bad
    assert "not a valid .npy" in errors[-1]
    np.save(tmp_path / "stack.npy", np.ones((6, 8, 8), np.uint16))
    widget.open_file.value = tmp_path / "stack.npy"
    assert "scan_shape" in errors[-1]
    widget.model.value = "from file"
    widget.run_inference()
    assert "choose a model folder" in errors[-1]
    widget.model.value = "conv-proto"
    import torch

    if not torch.cuda.is_available():
        widget.device.value = "cuda"
        widget.run_inference()
        assert "CUDA was requested" in errors[-1]


class _PressedCancel:
    """A cancel event the user pressed right after starting (clear() cannot undo it)."""

    def clear(self):
        pass

    def set(self):
        pass

    def is_set(self):
        return True


def test_cancel_stops_the_computation(widget, errors):
    widget.cancel = _PressedCancel()
    widget.compute_com()
    assert "cancelled" in errors[-1] and "CoM magnitude (mrad)" not in widget.viewer.layers
    assert widget.worker is None and not widget.cancel_button.enabled


def test_closing_removes_callbacks(widget):
    widget.run_inference()
    layer = widget.viewer.layers["polarization"]
    assert select_on_click in layer.mouse_drag_callbacks
    widget.close_links()
    assert select_on_click not in layer.mouse_drag_callbacks
    assert all(select_on_click not in lyr.mouse_drag_callbacks for lyr in widget.viewer.layers)


@pytest.mark.parametrize("command", ["com_maps_command", "inference_command"])
def test_menu_commands_return_layers(make_napari_viewer, command):
    import ferromap._napari._menu as menu

    viewer = make_napari_viewer()
    viewer.open_sample("ferromap", "single-ru")
    gui = getattr(menu, command)()
    worker = gui(dataset=viewer.layers["KNN single-ru (4D)"])
    results = []
    worker.returned.connect(results.append)
    worker.run()
    assert results and results[0] and results[0][0][0].shape[:2] == (16, 16)


def test_diffraction_view_docks_beside_the_map_and_goes_with_the_widget(widget):
    assert len(widget._docks) == 2 and widget.diffraction.canvas.minimumHeight() >= 280
    widget.close_links()
    assert widget._docks == []
