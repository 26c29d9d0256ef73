"""Virtual detectors dragged on the diffraction view, region mean patterns, the status bar."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.core.virtual import virtual_image

from .conftest import press


def mpl_drag(view, start, end, steps: int = 5) -> None:
    """A real matplotlib press-move-release on the view's canvas, in axes data coordinates."""
    mpl_stroke(view, [np.asarray(start) + (np.asarray(end) - start) * t
                      for t in np.linspace(0, 1, steps)])


def mpl_stroke(view, points) -> None:
    """Press at the first point, move through the others, release at the last."""
    from matplotlib.backend_bases import MouseEvent

    canvas, ax = view.canvas, view.ax
    for i, (x, y) in enumerate(points):
        px, py = ax.transData.transform((x, y))
        name = "button_press_event" if i == 0 else "motion_notify_event"
        MouseEvent(name, canvas, px, py, button=1)._process()
    px, py = ax.transData.transform(points[-1])
    MouseEvent("button_release_event", canvas, px, py, button=1)._process()


def choose(view, kind: str) -> None:
    combo = view.tools.detector_kind
    combo.setCurrentIndex(combo.findData(kind))


def test_dragging_a_detector_makes_the_navigation_image_of_its_mask(viewer, main, qtbot):
    view = main.diffraction
    choose(view, "adf")
    tools = view.tools
    qtbot.waitUntil(lambda: tools.imager.last is not None and tools.imager.last["final"],
                    timeout=60_000)
    before = tools.editor.detector
    x, y = view.axes_from_px(before.centre)
    k = view.scale()
    mpl_drag(view, (x, y), (x + 2 * k, y - 1 * k))  # move it 2 px right, 1 px up
    moved = tools.editor.detector
    assert moved.centre == pytest.approx((before.centre[0] - 1, before.centre[1] + 2), abs=0.05)
    qtbot.waitUntil(lambda: tools.imager.last["detector"] == moved and
                    tools.imager.last["final"], timeout=60_000)
    ds = main.session.dataset
    expected = virtual_image(ds.data, moved.mask(ds.frame_shape))
    np.testing.assert_allclose(viewer.layers["virtual detector"].data, expected, rtol=1e-5)
    edge = view.axes_from_px((moved.centre[0], moved.centre[1] + moved.outer))
    mpl_drag(view, edge, (edge[0] + 3 * k, edge[1]))  # grab the outer edge: resize
    assert tools.editor.detector.outer == pytest.approx(moved.outer + 3, abs=0.2)
    assert tools.editor.detector.centre == moved.centre


def test_region_means_equal_the_numpy_mean_of_their_patterns(viewer, main, qtbot, wait_idle):
    view, tools = main.diffraction, main.diffraction.tools
    press_region = tools.region_button
    press_region.click()
    layer = viewer.layers["pattern region"]
    assert viewer.layers.selection.active is layer and layer.mode == "add_rectangle"
    step = main.session.dataset.calibration.scan_step_nm
    layer.add_rectangles(np.array([[2, 3], [6, 9]]) * step)  # rows 2-6, cols 3-9
    qtbot.waitUntil(lambda: tools.region is not None, timeout=60_000)
    data = main.session.dataset.data[2:7, 3:10].compute().astype(np.float64)
    np.testing.assert_allclose(view.current.pattern, data.mean(axis=(0, 1)), rtol=1e-6)
    tools.statistic.setCurrentText("max")
    np.testing.assert_allclose(view.current.pattern, data.max(axis=(0, 1)))
    main.symmetrize.value = False
    press(main.run_button)
    wait_idle(main.runner)
    tools.region = None
    tools.statistic.setCurrentText("mean")
    mu = tools.region_class.findText("MU")
    tools.region_class.setCurrentIndex(mu)
    tools.region_class.activated.emit(mu)
    qtbot.waitUntil(lambda: tools.region is not None, timeout=60_000)
    maps = main.session.maps["inference"]
    sel = (maps.labels == 2) & ~maps.low_info
    full = main.session.dataset.data.compute().astype(np.float64)
    np.testing.assert_allclose(view.current.pattern, full[sel].mean(axis=0), rtol=1e-6)
    assert "class MU" in view.title


def test_the_status_bar_names_class_and_probabilities(viewer, main, wait_idle):
    main.symmetrize.value = False
    press(main.run_button)
    wait_idle(main.runner)
    step = main.session.dataset.calibration.scan_step_nm
    viewer.cursor.position = (4 * step, 40 * step)
    maps = main.session.maps["inference"]
    name = maps.classes.names[maps.labels[4, 40]]
    assert viewer.status.startswith(f"(4, 40) {name}  p") and "|" in viewer.status
    press(main.probability_layers)
    assert all(f"P({n})" in viewer.layers for n in maps.classes.names)
    np.testing.assert_allclose(viewer.layers["P(MU)"].data, maps.probs[..., 2])


def test_a_free_hand_mask_drawn_with_the_lasso_makes_its_navigation_image(viewer, main, qtbot):
    view = main.diffraction
    lines_before = len(view.ax.lines)
    choose(view, "mask")
    tools = view.tools
    assert tools.editor.lasso is not None
    corners = [view.axes_from_px(p) for p in [(20, 20), (20, 44), (44, 44), (44, 20), (21, 20)]]
    path = [np.asarray(a) + (np.asarray(b) - a) * t for a, b in zip(corners, corners[1:])
            for t in np.linspace(0, 1, 6)]
    mpl_stroke(view, path)
    detector = tools.editor.detector
    assert detector.kind == "mask" and len(detector.vertices) >= 3 and tools.editor.lasso is None
    assert len(view.ax.lines) == lines_before  # the lasso stroke is gone from the view
    qtbot.waitUntil(lambda: tools.imager.last is not None and tools.imager.last["final"] and
                    tools.imager.last["detector"] == detector, timeout=60_000)
    ds = main.session.dataset
    mask = detector.mask(ds.frame_shape)
    assert 0.1 < mask.mean() < 0.2  # about the 24×24 px square of a 64×64 frame
    np.testing.assert_allclose(viewer.layers["virtual detector"].data,
                               virtual_image(ds.data, mask), rtol=1e-5)
