from __future__ import annotations

import numpy as np
import pytest

from ferromap.core.shift import com_shift, magnitude_angle, rotate_vectors


def test_angle_convention_up_is_smaller_row():
    vectors = np.array([[0, 1], [-1, 0], [0, -1], [1, 0], [-1, 1]], float)  # right, up, left...
    mag, ang = magnitude_angle(vectors)
    np.testing.assert_allclose(ang, [0, 90, 180, 270, 45])
    np.testing.assert_allclose(mag, [1, 1, 1, 1, np.sqrt(2)])


def test_rotation_is_counter_clockwise_as_displayed():
    right = np.array([0.0, 1.0])
    np.testing.assert_allclose(rotate_vectors(right, 90), [-1, 0], atol=1e-12)  # -> up
    np.testing.assert_allclose(rotate_vectors(np.array([-1.0, 0.0]), 0, flip=True), [1, 0])


def test_plane_reference_removes_descan_ramp():
    rows, cols = np.mgrid[0:10, 0:12]
    signal = np.stack([np.sin(rows), np.cos(cols)], axis=-1) * 0.1
    ramp = np.stack([30 + 0.2 * rows - 0.1 * cols, 31 + 0.05 * rows + 0.3 * cols], axis=-1)
    com = ramp + signal
    com[3, 4] = np.nan
    shift = com_shift(com, reference="plane")
    assert np.isnan(shift[3, 4]).all()
    ok = np.isfinite(shift[..., 0])
    assert np.abs(shift[ok] - signal[ok]).max() < 0.06
    mean_shift = com_shift(com, reference="mean")
    assert np.abs(mean_shift[ok] - signal[ok]).max() > 1  # the ramp stays in


def test_all_nan_and_bad_reference():
    with pytest.raises(ValueError, match="no scan position"):
        com_shift(np.full((2, 2, 2), np.nan))
    with pytest.raises(ValueError, match="reference must be one of"):
        com_shift(np.zeros((2, 2, 2)), reference="median")
