from __future__ import annotations

import numpy as np

from ferromap.training.filtering import filter_per_scan, magnitude_filter


def test_keeps_positions_above_the_scan_mean():
    m = np.array([[0.0, 1.0, 2.0], [3.0, 10.0, np.nan]])
    keep = magnitude_filter(m)
    # normalised: 0, .1, .2, .3, 1 -> mean .32: only the 10 is kept; NaN never
    np.testing.assert_array_equal(keep, [[False, False, False], [False, True, False]])
    assert not magnitude_filter(np.full((2, 2), np.nan)).any()
    # nothing to rank (one position, or one magnitude): every position with a CoM is kept
    np.testing.assert_array_equal(magnitude_filter(np.array([0.7, 0.7, np.nan])),
                                  [True, True, False])


def test_each_scan_is_normalised_on_its_own():
    m = np.array([1.0, 2.0, 3.0, 100.0, 200.0, 300.0])
    ids = np.array([0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(filter_per_scan(m, ids), [False, False, True, False, False, True])
