"""The "Label positions" mode: proposals, answers by button/key/click, undo, store, training."""

from __future__ import annotations

import numpy as np

from ferromap._napari._labelling import LABELS_LAYER, PROPOSAL_LAYER, RGB_LAYER

from .test_widget import click


def truth_of(widget):
    from ferromap.data import load_sample

    return load_sample("two-domain")[1]


def start(widget, classes="none, vertical, horizontal", step=8, budget=20):
    panel = widget.labelling
    panel.classes.value = classes
    panel.step.value, panel.budget.value = step, budget
    panel.start_session()
    return panel


def test_proposal_is_highlighted_and_shown_in_the_diffraction_view(widget):
    panel = start(widget)
    first = panel.session.current
    assert first is not None and len(panel.answers) == 3
    step = widget.dataset.calibration.scan_step_nm
    np.testing.assert_allclose(widget.viewer.layers[PROPOSAL_LAYER].data, [np.multiply(first, step)])
    assert (widget.diffraction.current.row, widget.diffraction.current.col) == first
    panel.answers[1].clicked()  # button "1: vertical"
    assert panel.session.labels == {first: 1}
    labelled = widget.viewer.layers[LABELS_LAYER].data
    assert labelled[first] == 1 and (labelled != 255).sum() == 1
    assert panel.counter.value.startswith("1 / 20 labelled")
    assert panel.session.current != first
    assert (widget.diffraction.current.row, widget.diffraction.current.col) == panel.session.current


def press(widget, key: str) -> None:
    """A real key press through napari's key handling (layer shortcuts take precedence)."""
    handler = widget.viewer.window._qt_viewer.canvas._key_map_handler
    handler.press_key(key)
    handler.release_key(key)


def test_number_keys_clicks_and_undo(widget):
    from ferromap.labelling import grid_positions

    widget.labelling.jitter.value = False  # the published, exact grid
    panel = start(widget)
    first = panel.session.current
    assert first == grid_positions(widget.dataset.scan_shape, 8)[0]
    press(widget, "2")
    assert panel.session.labels[first] == 2
    layer = widget.viewer.layers[LABELS_LAYER]
    assert widget.viewer.layers.selection.active is layer and layer.mode == "pan_zoom"
    click(layer, 30, 40)  # any position can be labelled
    press(widget, "0")
    assert panel.session.labels[(30, 40)] == 0
    press(widget, "7")  # no class 7: ignored
    assert len(panel.session.labels) == 2
    panel.undo()
    assert (30, 40) not in panel.session.labels
    assert widget.viewer.layers[LABELS_LAYER].data[30, 40] == 255
    assert (widget.diffraction.current.row, widget.diffraction.current.col) == (30, 40)


def test_save_and_load_the_label_store(widget, tmp_path, errors):
    panel = start(widget)
    for _ in range(4):
        panel.answer(0)
    panel.store.value = tmp_path / "labels.json"
    panel.save()
    saved = dict(panel.session.labels)
    panel = start(widget)
    panel.store.value = tmp_path / "labels.json"
    panel.load()
    assert panel.session.labels == saved
    assert (widget.viewer.layers[LABELS_LAYER].data != 255).sum() == 4
    start(widget, classes="a, b").load()
    assert "uses a, b" in errors[-1]


def test_training_on_labels_maps_the_scan_with_an_rgb_probability_map(widget, monkeypatch):
    import ferromap.labelling.train as train

    monkeypatch.setattr(train, "TARGET_STEPS", 40)
    truth = truth_of(widget)  # MU (2) left, RM (0) right: call them class 1 and class 2
    names = {2: 1, 0: 2}
    panel = start(widget, budget=24)
    while panel.session.current is not None:
        panel.answer(names[int(truth[panel.session.current])])
    panel.train_and_map()
    assert widget.status.value == "training on labels: done"
    maps = widget.maps
    assert maps.classes.names == ("none", "vertical", "horizontal")
    assert widget.viewer.layers["polarization"].data.shape == (32, 48)
    rgb = widget.viewer.layers[RGB_LAYER].data
    assert rgb.shape == (32, 48, 3)
    np.testing.assert_allclose(rgb, maps.probs[..., :3], atol=1e-6)
    assert "R = P(none)" in widget.legend.value


def test_bad_class_sets_and_training_too_early_are_notifications(widget, errors):
    start(widget, classes="only")
    assert "at least two class names" in errors[-1]
    panel = start(widget)
    panel.answer(0)
    panel.train_and_map()
    assert "at least two classes" in errors[-1]


def test_closing_ends_the_session_and_frees_the_keys(widget):
    panel = start(widget)
    widget.close_links()
    assert panel.session is None
    press(widget, "1")  # nothing happens, nothing raises


def test_closing_after_qt_deleted_the_dock_widgets_does_not_raise(widget, qtbot):
    """Closing the viewer deletes the docks' Qt widgets before ferromap's clean-up runs."""
    from qtpy import sip

    panel = start(widget)
    sip.delete(panel.counter.native)
    widget.close_links()  # raised "wrapped C/C++ object of type QLabel has been deleted"
    assert panel.session is None


def test_changing_the_dataset_ends_the_session(widget):
    from ferromap.data import load_sample

    panel = start(widget)
    panel.answer(0)
    widget.set_dataset(load_sample("single-ru")[0])
    assert panel.session is None and "dataset changed" in panel.counter.value
    assert not panel.train.enabled
