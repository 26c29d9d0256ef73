"""Real mouse clicks on the canvas, whichever layer is active; the panel follows the data."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import press


def test_three_successive_real_clicks_each_reach_the_diffraction_view(viewer, main, wait_idle,
                                                                     click_scan):
    main.symmetrize.value = False
    press(main.run_button)
    wait_idle(main.runner)
    view = main.diffraction
    for row, col in [(5, 30), (20, 8), (12, 40)]:
        click_scan(row, col)
        assert (view.current.row, view.current.col) == (row, col)
        np.testing.assert_array_equal(view.current.pattern, main.session.dataset.pattern(row, col))
        assert "class" in view.text.text() and "anomaly score" in view.text.text()
    assert viewer.layers.selection.active.name != "selected position"
    viewer.layers.selection.active = viewer.layers["selected position"]  # even the marker
    click_scan(3, 3)
    assert (view.current.row, view.current.col) == (3, 3)
    viewer.layers.selection.active = viewer.layers["polarization"]
    click_scan(31, 47)
    assert (view.current.row, view.current.col) == (31, 47)
    step = main.session.dataset.calibration.scan_step_nm
    np.testing.assert_allclose(viewer.layers["selected position"].data, [[31 * step, 47 * step]])


def test_the_diffraction_view_reads_in_mrad_with_colour_bar_crop_and_shift(viewer, main,
                                                                          wait_idle, click_scan):
    view = main.diffraction
    assert view.current is not None and view.title == "mean pattern"  # before any click
    assert view.canvas.minimumWidth() >= 400 and view.canvas.minimumHeight() >= 400
    press(main.run_button)
    wait_idle(main.runner)
    click_scan(10, 10)
    assert view.ax.get_xlabel() == "k_col (mrad)" and view.colorbar is not None
    assert view.box.get_visible()
    x0, x1 = view.ax.get_xlim()
    box = view.box.get_bbox()
    assert x0 < box.x0 and box.x1 < x1  # a crop as large as the frame still shows
    assert view.arrow is not None
    view.high.setValue(50.0)
    assert view.image.get_clim()[1] < np.log1p(view.current.pattern.max())


def test_the_panel_follows_the_data(viewer, main, wait_idle, tmp_path):
    press(main.com_button)
    wait_idle(main.runner)
    assert "CoM magnitude (mrad)" in viewer.layers
    viewer.open_sample("ferromap", "single-ru")  # like File > Open
    assert main.session.dataset.scan_shape == (16, 16)
    assert "CoM magnitude (mrad)" not in viewer.layers  # stale results are gone
    assert main.layer_choice.value.name == "KNN single-ru (4D)"
    viewer.layers.selection.active = viewer.layers["KNN two-domain virtual BF"]
    assert main.session.dataset.scan_shape == (32, 48)
    np.save(tmp_path / "d.npy", np.ones((3, 4, 64, 64), np.uint16))
    main.open_file.value = tmp_path / "d.npy"
    assert main.session.dataset.scan_shape == (3, 4)
    before = len(viewer.layers)
    main.open_file.value = ""  # an empty box opens nothing
    assert len(viewer.layers) == before and main.session.dataset.scan_shape == (3, 4)


def test_a_4d_layer_ferromap_did_not_open_is_a_dataset_too(make_napari_viewer, qtbot):
    """napari's own .npy reader or ``viewer.add_image``: the panel lists the layer as it comes
    and uses it when no other dataset is in use."""
    viewer = make_napari_viewer(show=True)
    _, main = viewer.window.add_plugin_dock_widget("ferromap", "Polarization mapping")
    qtbot.waitUntil(lambda: main.diffraction is not None, timeout=5000)
    assert main.session.dataset is None
    viewer.add_image(np.ones((3, 4, 16, 16), np.float32), name="mine")
    assert main.session.dataset is not None and main.session.dataset.scan_shape == (3, 4)
    assert main.layer_choice.value.name == "mine"
    viewer.add_image(np.ones((5, 6, 16, 16), np.float32), name="another")  # made active
    assert [n for n, _ in main._dataset_layers()] == ["mine", "another"]
    assert main.session.dataset.scan_shape == (5, 6)
    assert main.layer_choice.value.name == "another"
    main.layer_choice.value = viewer.layers["mine"]
    assert main.session.dataset.scan_shape == (3, 4)
    viewer.layers.remove("another")
    assert list(main.layer_choice.choices) == [viewer.layers["mine"]]
    viewer.add_image(np.ones((5, 8, 8, 3), np.float32), rgb=True, name="colour stack")
    viewer.add_labels(np.zeros((2, 3, 8, 8), np.uint8), name="4-D labels")
    assert main.session.dataset.scan_shape == (3, 4)  # neither is a dataset
    assert list(main.layer_choice.choices) == [viewer.layers["mine"]]
    viewer.layers.remove("mine")  # the layer in use: nothing runs on data no longer shown
    assert main.session.dataset is None and main.layer_choice.value is None


def test_file_open_errors_once_and_a_file_of_several_datasets_opens_from_the_panel(
        realdata, viewer, main, notifications):  # realdata first: it skips before a viewer
    """*File > Open* of a file that needs a choice: one notification that names the panel's
    box (napari adds no error of its own); the panel's box then opens it."""
    stack = realdata / "merlin/Single_9_Frame_CounterDepth_12_Rows_256.mib"
    emd = realdata / "emd/Si100_4D.emd"
    before = len(viewer.layers)
    for path, box in ((stack, "'scan rows' and 'scan cols'"),
                      (emd, "'dataset (files with several)'")):
        # File > Open: napari chooses the reader (plugin=None); no exception, no layer
        assert viewer.open(str(path), plugin=None) == []
        errors = [m for s, m in notifications if s == "error"]
        assert box in errors[-1] and "Polarization mapping" in errors[-1]
    assert len([m for s, m in notifications if s == "error"]) == 2
    assert len(viewer.layers) == before
    main.dataset_index.value = "1"
    main.open_file.value = emd
    assert main.session.dataset.scan_shape == (11, 11)
    assert main.session.dataset.frame_shape == (8, 8)


def test_the_idle_activity_spinner_is_stopped(viewer, main, qtbot):
    """napari stops its spinner only when a progress bar is destroyed, and a finished bar
    lives on while anything refers to it (*File > Open*'s does): its frames, 26 a second,
    starve the workers. ferromap stops it when no bar is visible (on every layer added)."""
    from ferromap._napari._session import hide_idle_activity_spinner

    dialog = getattr(viewer.window._qt_window, "_activity_dialog", None)
    if dialog is None:
        pytest.skip("this napari has no activity dialog")
    indicator = dialog._toggleButton._inProgressIndicator
    indicator.movie().start()  # the state a finished, undestroyed bar leaves behind
    indicator.show()
    hide_idle_activity_spinner()
    assert indicator.movie().state() != indicator.movie().MovieState.Running
    assert not indicator.isVisible()
