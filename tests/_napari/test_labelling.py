"""The "Label positions" dock: proposals, answers by button/key/click, undo, store, training
into layers of its own, a model saved and loaded in the main dock."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap._napari._labelling import LABELS_LAYER, PREFIX, PROPOSAL_LAYER, RGB_LAYER

from .conftest import ferromap_docks, press


def start(main, classes="none, vertical, horizontal", step=8, budget=20):
    panel = main.labelling
    panel.classes.value = classes
    panel.step.value, panel.budget.value = step, budget
    press(panel.start)
    return panel


def key(viewer, name: str) -> None:
    """A real key press through napari's key handling (layer shortcuts take precedence)."""
    handler = viewer.window._qt_viewer.canvas._key_map_handler
    handler.press_key(name)
    handler.release_key(name)


def test_proposal_is_highlighted_and_shown_in_the_diffraction_view(viewer, main):
    panel = start(main)
    first = panel.labels.current
    assert first is not None and len(panel.answers) == 3
    step = main.session.dataset.calibration.scan_step_nm
    np.testing.assert_allclose(viewer.layers[PROPOSAL_LAYER].data, [np.multiply(first, step)])
    assert (main.diffraction.current.row, main.diffraction.current.col) == first
    press(panel.answers[1])  # button "1: vertical"
    assert panel.labels.labels == {first: 1}
    labelled = viewer.layers[LABELS_LAYER].data
    assert labelled[first] == 1 and (labelled != 255).sum() == 1
    assert panel.counter.value.startswith("1 / 20 labelled")
    assert (main.diffraction.current.row, main.diffraction.current.col) == panel.labels.current


def test_number_keys_real_clicks_and_undo(viewer, main, click_scan):
    from ferromap.labelling import grid_positions

    panel = main.labelling
    panel.jitter.value = False  # the published, exact grid
    panel = start(main)
    first = panel.labels.current
    assert first in grid_positions(main.session.dataset.scan_shape, 8)
    key(viewer, "2")
    assert panel.labels.labels[first] == 2
    layer = viewer.layers[LABELS_LAYER]
    assert viewer.layers.selection.active is layer and layer.mode == "pan_zoom"
    click_scan(30, 40)  # any position can be labelled
    key(viewer, "0")
    assert panel.labels.labels[(30, 40)] == 0
    key(viewer, "7")  # no class 7: ignored
    assert len(panel.labels.labels) == 2
    press(panel.undo_button)
    assert (30, 40) not in panel.labels.labels and viewer.layers[LABELS_LAYER].data[30, 40] == 255


def test_save_and_load_the_label_store(viewer, main, tmp_path, notifications):
    panel = start(main)
    for _ in range(4):
        press(panel.answers[0])
    panel.store.value = tmp_path / "labels.json"
    press(panel.save_button)
    saved = dict(panel.labels.labels)
    panel = start(main)
    press(panel.load_button)
    assert panel.labels.labels == saved and (viewer.layers[LABELS_LAYER].data != 255).sum() == 4
    start(main, classes="a, b")
    press(panel.load_button)
    assert [m for s, m in notifications if s == "error" and "uses a, b" in m]


def test_training_goes_to_its_own_layers_and_the_model_loads_in_the_main_dock(
        viewer, main, wait_idle, monkeypatch, tmp_path, notifications):
    import ferromap.labelling.train as train
    from ferromap.data import load_sample

    monkeypatch.setattr(train, "TARGET_STEPS", 40)
    main.symmetrize.value = False
    press(main.run_button)
    wait_idle(main.runner)
    shipped = viewer.layers["polarization"].data.copy()
    truth = load_sample("two-domain")[1]  # MU (2) left, RM (0) right: class 1 and class 2
    names = {2: 1, 0: 2}
    panel = start(main, budget=12)
    while panel.labels.current is not None:
        press(panel.answers[names[int(truth[panel.labels.current])]])
    press(panel.train)
    wait_idle(panel.runner)
    assert [m for s, m in notifications if s == "warning" and "few labels" in m]
    assert panel.status.value == "training on labels: done"
    np.testing.assert_array_equal(viewer.layers["polarization"].data, shipped)  # untouched
    mine = viewer.layers[PREFIX + "polarization"].data
    assert mine.shape == (32, 48) and set(np.unique(mine)) <= {0, 1, 2}
    rgb = viewer.layers[RGB_LAYER].data
    np.testing.assert_allclose(rgb, main.session.maps["labelling"].probs[..., :3], atol=1e-6)
    panel.model_dir.value = tmp_path / "my-model"
    press(panel.save_model_button)
    assert (tmp_path / "my-model" / "model.json").exists()
    main.model.value = "model folder…"
    main.model_file.value = tmp_path / "my-model"
    press(main.run_button)
    wait_idle(main.runner)
    assert main.session.maps["inference"].classes.names == ("none", "vertical", "horizontal")


def test_bad_class_sets_and_training_too_early_are_notifications(viewer, main, notifications,
                                                                wait_idle):
    start(main, classes="only")
    assert [m for s, m in notifications if "at least two class names" in m]
    panel = start(main)
    press(panel.answers[0])
    press(panel.train)
    wait_idle(panel.runner)
    assert [m for s, m in notifications if s == "error" and "at least two classes" in m]


def test_closing_the_labelling_dock_frees_the_keys_and_changing_data_ends_labelling(viewer,
                                                                                   main):
    panel = start(main)
    press(panel.answers[0])
    viewer.open_sample("ferromap", "single-ru")
    assert panel.labels is None and "dataset changed" in panel.counter.value
    assert not panel.train.enabled
    panel = start(main)
    viewer.window.remove_dock_widget(viewer.window.dock_widgets["ferromap label positions"])
    assert panel.labels is None and len(ferromap_docks(viewer)) == 2
    key(viewer, "1")  # nothing happens, nothing raises


@pytest.mark.parametrize("close", ["viewer"])
def test_closing_the_viewer_with_the_docks_open_does_not_raise(viewer, main, close):
    start(main)
    viewer.close()


def test_more_labels_wanted_mid_session_go_on_proposing(viewer, main, notifications):
    panel = start(main, budget=2)
    press(panel.answers[0])
    press(panel.answers[1])
    assert panel.labels.current is None and "done" in panel.counter.value
    key(viewer, "0")  # nothing selected: one error that says what to do
    errors = [m for s, m in notifications if s == "error"]
    assert len(errors) == 1 and "all the labels wanted are given" in errors[0]
    assert "raise 'labels wanted'" in errors[0]
    panel.budget.value = 4
    nxt = panel.labels.current
    assert nxt is not None and nxt not in panel.labels.labels
    press(panel.answers[2])
    assert panel.labels.labels[nxt] == 2 and panel.counter.value.startswith("3 / 4 labelled")
