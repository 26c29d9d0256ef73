"""The diffraction view blits a clicked pattern: the same picture as a full draw, at a
fraction of its cost, and a full draw whenever the axes or the colour bar must change."""

from __future__ import annotations

import numpy as np

DEEPSKYBLUE, RED = (0, 191, 255), (255, 0, 0)  # the detector circles, the CoM marker


def picture(view) -> np.ndarray:
    return np.asarray(view.canvas.buffer_rgba())[..., :3].copy()


def full_draw_picture(view) -> np.ndarray:
    view.canvas.draw()
    return picture(view)


def settled(view, qtbot) -> None:
    qtbot.waitUntil(lambda: not view.full_draw_pending, timeout=5000)
    qtbot.wait(20)


def has_colour(img: np.ndarray, rgb) -> bool:
    return bool((np.abs(img.astype(int) - rgb).sum(axis=-1) < 30).sum() > 20)


def test_a_click_blits_the_picture_a_full_draw_would_make(viewer, main, click_scan, qtbot):
    view = main.diffraction
    combo = view.tools.detector_kind
    combo.setCurrentIndex(combo.findData("adf"))  # its circles are drawn over the pattern
    click_scan(6, 6)
    settled(view, qtbot)
    draws = []
    view.canvas.mpl_connect("draw_event", draws.append)
    blitted = 0
    for row, col in [(6, 7), (7, 6), (7, 7), (20, 30), (25, 40)]:
        before, n_draws = picture(view), len(draws)
        click_scan(row, col)
        settled(view, qtbot)
        assert (view.current.row, view.current.col) == (row, col)
        if len(draws) == n_draws:  # no full draw: the pattern was blitted
            blitted += 1
            shown = picture(view)
            assert not np.array_equal(shown, before)  # the new pattern is on the canvas
            assert has_colour(shown, DEEPSKYBLUE) and has_colour(shown, RED)  # overlays too
            np.testing.assert_array_equal(shown, full_draw_picture(view))
    assert blitted >= 3  # neighbouring patterns share the background


def test_the_colour_bar_always_shows_the_image_limits(viewer, main, click_scan, qtbot):
    view = main.diffraction
    for row, col in [(3, 3), (30, 45), (3, 4)]:
        click_scan(row, col)
        settled(view, qtbot)
        np.testing.assert_array_equal(picture(view), full_draw_picture(view))
        cbar_lo, cbar_hi = view.colorbar.ax.get_ylim()
        np.testing.assert_allclose((cbar_lo, cbar_hi), view.image.get_clim(), rtol=1e-6)
    assert view.log_scale.isChecked()
    shown = np.log1p(view.current.pattern.astype(np.float64))
    lo, hi = np.percentile(shown, [view.low.value(), view.high.value()])
    clim = view.image.get_clim()
    span = clim[1] - clim[0]
    assert abs(clim[0] - lo) <= 0.05 * span + 1e-9 and abs(clim[1] - hi) <= 0.05 * span + 1e-9
    view.high.setValue(90.0)  # a limit the user sets applies exactly
    settled(view, qtbot)
    np.testing.assert_allclose(view.image.get_clim()[1], np.percentile(shown, 90.0), rtol=1e-6)
    np.testing.assert_array_equal(picture(view), full_draw_picture(view))
