from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from ferromap.core.periodic import (
    periodic_residual,
    phase_map,
    phase_zscore,
    reciprocal_lattice,
    repeat_period,
)


def test_the_lattice_survives_many_strong_harmonics():
    """Sharp columns (A, B and a weaker third) give more strong harmonics than are refined;
    the pair found must still be a primitive cell of 8 × 8 positions, not a half cell."""
    r, c = np.mgrid[0:64, 0:64].astype(float)

    def columns(r0, c0, amp):
        dr, dc = (r - r0 + 4) % 8 - 4, (c - c0 + 4) % 8 - 4
        return amp * np.exp(-(dr**2 + dc**2) / 0.5)

    image = columns(0, 0, 1.0) + columns(0, 4, 0.7) + columns(4, 4, 0.3)
    image += np.random.default_rng(0).normal(0, 0.01, image.shape)
    g = reciprocal_lattice(image)
    assert g is not None and abs(np.linalg.det(g)) == pytest.approx(1 / 64, rel=0.02)


def cell_maps(period_r: float, period_c: float, n: int = 40, noise: float = 0.05, seed=0):
    """Feature-like maps of a perovskite cell: bright A columns at the corners, weaker B
    columns at the centre, and a deflection-like map that changes sign across each."""
    r, c = np.mgrid[0:n, 0:n].astype(float)
    u, v = (r / period_r) % 1.0, (c / period_c) % 1.0
    d2a = np.minimum(u, 1 - u) ** 2 + np.minimum(v, 1 - v) ** 2
    d2b = (u - 0.5) ** 2 + (v - 0.5) ** 2
    bright = np.exp(-d2a / 0.02) + 0.4 * np.exp(-d2b / 0.02)
    deflection = np.sin(2 * np.pi * u) * bright
    maps = np.stack([bright, deflection, np.roll(bright, 1, axis=1)], axis=-1)
    return maps + np.random.default_rng(seed).normal(scale=noise, size=maps.shape)


@pytest.mark.parametrize("period", [4.0, 6.58, 7.996, 11.3])
def test_repeat_period_is_the_cell_not_a_multiple_or_a_half(period):
    assert repeat_period(cell_maps(period, period)) == pytest.approx(period, rel=0.03)


def test_repeat_period_refuses_what_it_cannot_see():
    assert repeat_period(np.random.default_rng(1).normal(size=(40, 40, 3))) is None  # no lattice
    assert repeat_period(cell_maps(30.0, 30.0)) is None  # a cell longer than the search
    assert repeat_period(cell_maps(6.0, 9.0)) is None  # not the square cell it assumes


def test_lattice_is_the_fundamental_not_a_harmonic():
    rows, cols = np.mgrid[0:32, 0:48]
    image = np.cos(2 * np.pi * rows / 8) + 3 * np.cos(4 * np.pi * cols / 12) + \
        1.0 * np.cos(2 * np.pi * cols / 12)  # a strong harmonic (period 6) and its fundamental
    g = reciprocal_lattice(image)
    periods = sorted(1 / np.linalg.norm(v) for v in g)
    assert periods == pytest.approx([8.0, 12.0], rel=0.01)
    noise = np.random.default_rng(0).normal(size=(32, 48))
    assert reciprocal_lattice(noise) is None


def test_a_defect_stands_out_among_its_lattice_equivalents(lattice_scan):
    data = lattice_scan()
    com_like = np.stack([np.sin(2 * np.pi * np.arange(24) / 4)[:, None] * np.ones(30),
                         np.cos(2 * np.pi * np.arange(30) / 6)[None] * np.ones((24, 1))])
    g = reciprocal_lattice(com_like)
    phase, n_bins = phase_map((24, 30), g)
    assert n_bins == 24 and len(np.unique(phase)) == 24
    seen = []
    res = periodic_residual(da.from_array(data, chunks=(5, 7, 32, 32)), phase, n_bins,
                            progress=lambda d, t: seen.append(d / t))
    z = phase_zscore(res, phase, n_bins)
    assert np.unravel_index(z.argmax(), z.shape) == (13, 17) and z[13, 17] > 20
    assert (z > 6).sum() == 1
    assert seen[-1] == pytest.approx(1.0)
    np.testing.assert_allclose(periodic_residual(data, phase, n_bins), res, rtol=1e-5)


def test_a_period_between_frequency_bins_is_located_to_a_fraction_of_a_bin():
    rows, cols = np.mgrid[0:20, 0:20]
    image = np.cos(2 * np.pi * rows / 5.7) + np.cos(2 * np.pi * cols / 4.3)
    periods = sorted(1 / np.linalg.norm(v) for v in reciprocal_lattice(image))
    assert periods == pytest.approx([4.3, 5.7], rel=0.005)  # bins are 20/4 and 20/3 px apart
