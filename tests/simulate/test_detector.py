from __future__ import annotations

import numpy as np
import pytest

from ferromap.core.com import center_of_mass
from ferromap.simulate.detector import apply_detector, descan_shifts
from ferromap.simulate.domains import compose, halves


@pytest.fixture
def beam(disk):
    p = disk((32, 32), (16, 16), 5)
    return np.broadcast_to(p / p.sum(), (3, 4, 32, 32)).astype(np.float32)


def test_dose_gives_poisson_counts(beam):
    counts = apply_detector(beam, dose=1e4, seed=1)
    assert counts.dtype == np.uint16
    assert counts.sum(axis=(2, 3)).mean() == pytest.approx(1e4, rel=0.03)
    assert not np.array_equal(counts[0, 0], counts[0, 1])
    np.testing.assert_array_equal(counts, apply_detector(beam, dose=1e4, seed=1))


def test_descan_shift_and_ramp_move_the_beam(beam):
    out = apply_detector(beam, shift_px=(1.5, -2.0), ramp_px=((0.5, 0.0), (0.0, 0.25)))
    expected = 16 + descan_shifts((3, 4), (1.5, -2.0), ((0.5, 0.0), (0.0, 0.25)))
    np.testing.assert_allclose(center_of_mass(out), expected, atol=0.05)


def test_background_and_noise_free(beam):
    out = apply_detector(beam, background=0.1)
    assert out.dtype == np.float32 and out.min() == pytest.approx(0.1)


def test_two_domains():
    truth = halves((2, 6), left=2, right=0)
    np.testing.assert_array_equal(truth[0], [2, 2, 2, 0, 0, 0])
    a = np.zeros((2, 6, 2, 2))
    b = np.ones((2, 6, 2, 2))
    c = np.full((2, 6, 2, 2), 2.0)
    out = compose([a, b, c], truth)
    assert out[1, 1, 0, 0] == 2 and out[1, 4, 0, 0] == 0
    with pytest.raises(ValueError, match="does not match"):
        compose([a, b], truth[:, :3])
