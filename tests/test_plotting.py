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
