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
    assert viewer.layers["CoM magnitude (mrad)"].data.shape == (32, 48)
    assert viewer.layers["CoM direction"].data.shape == (32, 48, 3)
    assert cmd.progress.value == 1000 and "done" in cmd.status.value


def test_run_inference_from_the_menu(viewer, open_dock, wait_idle):
    cmd = open_dock("Run polarization inference")
    cmd.symmetrize.value = False
    press(cmd.run_button)
    wait_idle(cmd.runner)
    labels = viewer.layers["polarization"].data
    assert labels.shape == (32, 48) and len(np.unique(labels)) >= 2
    assert cmd.progress.value == 1000 and "done" in cmd.status.value
