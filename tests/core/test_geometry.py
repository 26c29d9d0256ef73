"""One CoM pass gives every position's beam centre: ramp, pedestal and hot pixel removed."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.core.geometry import measure_geometry


@pytest.fixture
def ramped(disk):
    rows, cols = 6, 8
    r, c = np.mgrid[0:rows, 0:cols]
    centres = np.stack([30.2 + 0.25 * r, 33.1 - 0.15 * c], -1)
    data = np.stack([[disk((64, 64), centres[i, j], 7.0, value=100.0) for j in range(cols)]
                     for i in range(rows)]).astype(np.float32)
    return data, centres


def test_centres_follow_a_descan_ramp(ramped):
    data, centres = ramped
    g = measure_geometry(data, size=32, span=32)
    np.testing.assert_allclose(g.centres, centres, atol=0.01)
    crops = g.crops(data[2:4, 1:5], (slice(2, 4), slice(1, 5)))
    r, c = np.mgrid[0:32, 0:32]
    com = np.array([[(x * r).sum() / x.sum(), (x * c).sum() / x.sum()] for x in crops])
    assert np.abs(com - 16).max() < 0.05  # every crop centred on its own beam
    mean = measure_geometry(data, size=32, span=32, descan="mean")
    assert np.abs(mean.centres - centres).max() > 0.5


def test_pedestal_and_hot_pixel_do_not_move_the_centres(ramped):
    data, centres = ramped
    dirty = data + 1.0
    dirty[..., 60, 3] = 5e4  # a hot pixel far from the beam
    g = measure_geometry(dirty, size=32, span=32)
    assert g.plan.hot_pixels[60, 3] and g.plan.hot_pixels.sum() == 1
    assert g.plan.background == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(g.centres, centres, atol=0.02)
    summary = g.to_dict()
    assert summary["n_hot_pixels"] == 1 and summary["descan"]["order"] == 1


def test_empty_and_bad_input():
    with pytest.raises(ValueError, match="no pattern has any intensity|no intensity"):
        measure_geometry(np.zeros((2, 2, 16, 16)), size=8, span=8)
    with pytest.raises(ValueError, match="4-D"):
        measure_geometry(np.zeros((2, 16, 16)), size=8, span=8)
