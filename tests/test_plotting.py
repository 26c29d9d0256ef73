"""Pictures keep the orientation: row 0 at the top, outlines on the flagged positions."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ferromap.plotting import _scan_extent, draw_outline


def test_anomaly_outline_sits_on_the_flagged_rows():
    mask = np.zeros((10, 12), bool)
    mask[0:2, 0:2] = True  # top-left corner
    fig = Figure()
    ax = fig.add_subplot()
    extent, _ = _scan_extent(mask.shape, 0.5)
    ax.imshow(mask, extent=extent)
    cs = draw_outline(ax, mask, 0.5)
    v = np.concatenate([p.vertices for p in cs.get_paths()])
    assert v[:, 1].max() <= 1.5 * 0.5 and v[:, 0].max() <= 1.5 * 0.5  # rows/cols 0-1 (nm)
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # y grows downward: row 0 at the top


def colour_positions(img: np.ndarray, rgb, tol: float = 0.03) -> np.ndarray:
    """``(n, 2)`` (row, col) pixels of a picture within ``tol`` of a colour."""
    return np.argwhere(np.abs(img[..., :3] - np.asarray(rgb)).max(axis=-1) < tol)


def test_direction_map_keeps_up_as_up_and_shows_its_wheel(tmp_path):
    import matplotlib.image

    from ferromap.colour import angle_to_rgb
    from ferromap.plotting import save_direction_map

    angle = np.zeros((20, 20))
    angle[:10] = 90.0  # the top half points up, the bottom half right
    path = save_direction_map(tmp_path / "d.png", angle, np.ones((20, 20)), scan_step_nm=0.1)
    img = matplotlib.image.imread(path)
    up = colour_positions(img, angle_to_rgb(np.array(90.0)))
    right = colour_positions(img, angle_to_rgb(np.array(0.0)))
    width = img.shape[1]
    up_map, right_map = up[up[:, 1] < width * 0.38], right[right[:, 1] < width * 0.38]
    assert len(up_map) > 1000 and len(right_map) > 1000
    assert np.median(up_map[:, 0]) < np.median(right_map[:, 0])  # "up" drawn above "right"
    rim = colour_positions(img, angle_to_rgb(np.array(90.0)), 0.1)
    wheel = rim[rim[:, 1] > width * 0.75]  # the legend's wheel has the same colour at its rim
    assert len(wheel) > 10 and np.median(wheel[:, 0]) < np.median(
        colour_positions(img, angle_to_rgb(np.array(270.0)), 0.1)[:, 0])  # up above down


def test_legend_images_are_rgba_with_every_class_colour():
    from ferromap.classes import KNN8
    from ferromap.colour import class_colours
    from ferromap.plotting import legend_image

    img = legend_image("classes", KNN8).astype(float) / 255
    assert img.shape[-1] == 4 and img[..., 3].max() == 1.0 and img[0, 0, 3] == 0.0
    for rgb in class_colours(KNN8):
        assert len(colour_positions(img, rgb, 0.05)) > 30
    wheel = legend_image("wheel").astype(float) / 255
    assert wheel.shape[0] == wheel.shape[1] and (wheel[..., 3] > 0).mean() > 0.2
