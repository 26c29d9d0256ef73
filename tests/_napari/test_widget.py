"""The main dock as napari builds it: buttons, real workers, real clicks, legends, errors."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap._napari._session import dataset_from_layer, layer_role
from ferromap.classes import KNN8

from .conftest import MAIN, press


def run_inference(main, wait_idle, symmetrize=False):
    main.symmetrize.value = symmetrize
    press(main.run_button)
    assert main.runner.busy  # it runs in a worker thread, not inline
    wait_idle(main.runner)


def test_the_main_dock_is_built_by_napari_with_its_companions(viewer, main, open_dock):
    from ferromap._napari._widget import PolarizationWidget

    assert isinstance(main, PolarizationWidget) and main.session.dataset is not None
    names = set(viewer.window.dock_widgets)
    assert {"ferromap diffraction view", "ferromap label positions"} <= names
    assert open_dock(MAIN) is main  # the menu again: the same set of docks
    assert len([n for n in viewer.window.dock_widgets if "ferromap" in n or "ferromap" in
                n.lower()]) == 3


def test_inference_from_the_button_maps_both_domains(viewer, main, wait_idle, notifications):
    run_inference(main, wait_idle)
    labels = viewer.layers["polarization"].data
    assert labels.shape == (32, 48) and labels.dtype == np.uint8
    left = np.bincount(labels[:, :20].ravel(), minlength=256).argmax()
    right = np.bincount(labels[:, 28:].ravel(), minlength=256).argmax()
    assert (KNN8.names[left], KNN8.names[right]) == ("MU", "RM")  # the sample is MU | RM
    assert "MU" in main.results.value and "RM" in main.results.value
    assert "domains" in main.results.value or "majority" in main.results.value
    assert "↑" in main.legend.value and main.export_button.enabled
    assert main.progress.value == 1000 and main.status.value == "inference: done"
    assert not [n for n in notifications if n[0] == "error"]
    colour = viewer.layers["polarization"].colormap.map(np.array([2]))[0]  # MU: hue 90°
    from ferromap.colour import angle_to_rgb

    np.testing.assert_allclose(colour[:3], angle_to_rgb(np.array(90.0)), atol=0.02)


def test_every_colour_map_has_a_legend_and_units(viewer, main, wait_idle):
    run_inference(main, wait_idle)
    press(main.com_button)
    wait_idle(main.runner)
    layers = viewer.layers
    assert "class legend" in layers and "CoM direction legend" in layers
    assert layers["CoM magnitude (mrad)"].colorbar.visible
    assert layers["KNN two-domain virtual BF"].colorbar.visible
    confidence = [lyr for lyr in layers if lyr.name.startswith("confidence")][0]
    assert confidence.colorbar.visible
    assert viewer.canvas.overlays["scale_bar"].visible
    assert str(layers["polarization"].units[-1]) == "nanometer"
    status = layers["polarization"].get_status(layers["polarization"].data_to_world((3, 3)))
    text = status["coordinates"] if isinstance(status, dict) else str(status)
    assert "class:" in text and any(name in text for name in KNN8.names)


def test_calibration_guard_estimates_an_unknown_sampling(viewer, main, wait_idle):
    main.mrad.value = 0.0  # the user clears it: unknown
    press(main.estimate_mrad)
    assert main.mrad.value == pytest.approx(3.17, rel=0.05)  # 24 mrad / disk radius
    assert "estimated" in main.calibration_note.value and "check it" in main.calibration_note.value
    run_inference(main, wait_idle)
    summary = main.session.maps["inference"].summary()
    assert summary["mrad_per_px_source"] == "estimated"


def test_errors_show_once_in_the_words_of_the_panel(viewer, main, wait_idle, notifications,
                                                    tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    main.device.value = "cuda"
    press(main.run_button)
    wait_idle(main.runner)
    errors = [m for s, m in notifications if s == "error"]
    assert len(errors) == 1 and "choose the device cpu or auto" in errors[0]
    assert "--" not in errors[0]
    main.device.value = "cpu"
    press(main.export_button)  # disabled before any result: nothing happens
    run_inference(main, wait_idle)
    press(main.export_button)  # no folder chosen: refused, nothing written
    errors = [m for s, m in notifications if s == "error"]
    assert len(errors) == 2 and "choose an export folder" in errors[-1]
    assert not list(tmp_path.iterdir())
    main.export_dir.value = tmp_path
    press(main.export_button)
    assert (tmp_path / "labels.tif").exists() and str(tmp_path) in main.status.value
    press(main.export_button)  # the same folder again: refused in GUI words
    errors = [m for s, m in notifications if s == "error"]
    assert len(errors) == 3 and "replace earlier results" in errors[-1] and "--" not in errors[-1]


def test_cancel_is_one_information_not_an_error(viewer, main, qtbot, wait_idle, notifications):
    main.symmetrize.value = True
    press(main.run_button)
    press(main.cancel_button)
    wait_idle(main.runner)
    assert "cancelled" in main.status.value and "polarization" not in viewer.layers
    assert not [m for s, m in notifications if s == "error"]
    assert [m for s, m in notifications if s == "info" and "cancelled" in m]


def test_maps_of_a_step_changed_during_the_run_are_not_shown(viewer, main, wait_idle,
                                                             notifications):
    press(main.run_button)
    main.step.value = 0.06  # while the worker reads the scan at the file's step
    wait_idle(main.runner)
    assert "polarization" not in viewer.layers and "inference" not in main.session.maps
    assert [m for s, m in notifications if s == "info" and "calibration changed" in m]
    assert not [m for s, m in notifications if s == "error"]


def test_the_scan_step_field_reaches_the_default_model(viewer, main, wait_idle, notifications):
    """The default model reads the scan at the step in the field; cleared, it estimates the
    step from the lattice and says so; an impossible step is refused in the panel's words."""
    assert main.model.value == "context" and main.step.value == pytest.approx(0.0494, abs=1e-3)
    nav = viewer.layers["KNN two-domain virtual BF"]
    main.step.value = 0.06  # the user corrects the file's step
    assert not main.step.native.keyboardTracking()  # typing "0.06" is one change, not four
    layer = next(lay for lay in viewer.layers if layer_role(lay) == "dataset")
    assert dataset_from_layer(layer).calibration.scan_step_nm == 0.06  # kept on the layer
    run_inference(main, wait_idle, symmetrize=True)
    summary = main.session.maps["inference"].summary()
    assert summary["scan_step_A"] == pytest.approx(0.6) and summary["scan_step_estimate"] is None
    assert tuple(viewer.layers["polarization"].scale) == tuple(nav.scale) == (0.06, 0.06)
    main.step.value = 0.0  # unknown: estimated from the lattice repeat (a = 3.95 Å)
    assert dataset_from_layer(layer).calibration.scan_step_nm is None
    run_inference(main, wait_idle, symmetrize=True)
    summary = main.session.maps["inference"].summary()
    assert summary["scan_step_A"] == pytest.approx(0.494, rel=0.05)
    assert summary["scan_step_estimate"] is not None
    assert [m for s, m in notifications if s == "info" and "scan step unknown: estimated" in m]
    # every scan layer in scan pixels: the maps stay on the navigation image
    assert tuple(viewer.layers["polarization"].scale) == tuple(nav.scale) == (1.0, 1.0)
    assert str(nav.units[-1]) == str(viewer.layers["polarization"].units[-1]) == "pixel"
    main.step.value = 5.0  # 50 Å between positions: no lattice to read
    run_inference(main, wait_idle, symmetrize=True)
    errors = [m for s, m in notifications if s == "error"]
    assert len(errors) == 1 and "scan step" in errors[0] and "--" not in errors[0]
    assert "conv-proto" in errors[0]  # the way out: the per-pattern model


def test_the_estimated_rotation_reads_near_zero_for_an_unrotated_scan(viewer, main, wait_idle):
    """The simulated sample has no scan-detector rotation: the estimate (minimum curl) shows
    as a few tenths of a degree either side of 0, never as 359.9°."""
    press(main.estimate)
    wait_idle(main.runner)
    assert main.session.com_maps is not None and abs(main.rotation.value) < 5
    assert not main.flip.value
