"""The two plugin-menu commands really run, with progress, through the shared pipelines."""

from __future__ import annotations

import numpy as np

from .conftest import press


def test_compute_com_maps_from_the_menu(viewer, open_dock, wait_idle):
    cmd = open_dock("Compute CoM maps")
    cmd.dataset.value = viewer.layers["KNN two-domain (4D)"]
    press(cmd.run_button)
    assert cmd.runner.busy
    wait_idle(cmd.runner)
    assert viewer.layers["mean reference: CoM magnitude (mrad)"].data.shape == (32, 48)
    assert viewer.layers["mean reference: CoM direction"].data.shape == (32, 48, 3)
    assert cmd.progress.value == 1000 and "done" in cmd.status.value


def test_run_inference_from_the_menu(viewer, open_dock, wait_idle):
    cmd = open_dock("Run polarization inference")
    cmd.symmetrize.value = False
    press(cmd.run_button)
    wait_idle(cmd.runner)
    labels = viewer.layers[f"{cmd.model.value}: polarization"].data
    assert labels.shape == (32, 48) and len(np.unique(labels)) >= 2
    assert cmd.progress.value == 1000 and "done" in cmd.status.value


def test_the_menu_and_the_main_dock_keep_their_own_layers(viewer, main, open_dock, wait_idle):
    """The main dock's map, and what its diffraction view says, stay its own when the menu
    maps the same data with another model; the main dock's next run replaces only its own
    layers, a confidence layer named for the previous model included."""
    from .test_widget import run_inference

    main.model.value = "conv-proto"
    run_inference(main, wait_idle)
    mine = viewer.layers["polarization"].data.copy()
    assert "confidence (probability right)" in viewer.layers  # calibrated conv-proto
    cmd = open_dock("Run polarization inference")
    cmd.model.value = "pca-knn"
    press(cmd.run_button)
    wait_idle(cmd.runner)
    np.testing.assert_array_equal(viewer.layers["polarization"].data, mine)
    assert main.session.maps["inference"].model == "conv-proto"
    assert "pca-knn: polarization" in viewer.layers
    main.model.value = "pca-knn"
    run_inference(main, wait_idle)
    assert "confidence" in viewer.layers and "confidence (probability right)" not in viewer.layers
    assert "pca-knn: confidence" in viewer.layers  # the menu's layers are not the dock's
