"""Physics of each nuisance the simulator adds (tiny abTEM runs: 2-5 nm, a few positions)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("abtem", reason="abtem is not installed: pip install 'ferromap[simulate]'")

from ferromap.core.virtual import annulus_mask, virtual_image  # noqa: E402
from ferromap.simulate import A_PSEUDOCUBIC, KNNCrystal, ScanGrid, simulate_4dstem  # noqa: E402
from ferromap.simulate.detector import apply_detector  # noqa: E402
from ferromap.simulate.fourdstem import Microscope, Multislice  # noqa: E402
from ferromap.simulate.scanspace import periodic_scan, sample_positions  # noqa: E402

THIN = KNNCrystal(direction=None, thickness_cells=8)  # ~3 nm, centrosymmetric
GRID = ScanGrid((4, 4), A_PSEUDOCUBIC / 4, (0.2, 0.3))  # covers one cell


def reflect(pattern: np.ndarray, shift_px=(0.0, 0.0)) -> np.ndarray:
    """Point reflection about the zero frequency after moving the pattern by ``-shift``."""
    n = pattern.shape[-1]
    k = np.fft.fftfreq(n)
    phase = np.exp(2j * np.pi * (k[:, None] * shift_px[0] + k[None, :] * shift_px[1]))
    centred = np.fft.ifft2(np.fft.fft2(pattern) * phase).real
    return centred, np.roll(centred[::-1, ::-1], 1, axis=(0, 1))


@pytest.mark.slow
def test_a_mistilt_makes_a_symmetric_crystal_asymmetric_along_the_tilt():
    crystal = replace(THIN, thickness_cells=25)  # ~10 nm
    dipoles = {}
    rr, cc = np.mgrid[0:64, 0:64] - 32
    for tilt in (0.0, 2.5):
        mic = Microscope(tilt_mrad=tilt, tilt_azimuth_deg=90.0)  # towards "up" (smaller row)
        pacbed = simulate_4dstem(crystal, GRID, mic).data.mean(axis=(0, 1))
        shift = (-tilt / mic.mrad_per_px, 0.0)  # the tilted disk moved up by this (row, col)
        centred, mirror = reflect(pacbed, shift)
        diff = centred - mirror
        dipoles[tilt] = np.array([(diff * rr).sum(), (diff * cc).sum()]) / centred.sum()
    tilted, flat = dipoles[2.5], dipoles[0.0]
    assert np.linalg.norm(tilted) > 10 * np.linalg.norm(flat)  # ~symmetric without a tilt
    assert abs(tilted[0]) / np.linalg.norm(tilted) > 0.9  # asymmetric along the tilt (rows)


@pytest.mark.slow
def test_frozen_phonons_add_high_angle_diffuse_intensity():
    adf = annulus_mask((64, 64), (32, 32), outer=40, inner=22)  # ~70-127 mrad
    static = simulate_4dstem(THIN, GRID).data
    tds = simulate_4dstem(THIN, GRID, multislice=Multislice(phonon_configs=3, seed=1)).data
    ratio = virtual_image(tds, adf).mean() / virtual_image(static, adf).mean()
    assert ratio > 1.2
    assert abs(tds.sum(axis=(2, 3)).mean() - static.sum(axis=(2, 3)).mean()) < 0.02


@pytest.mark.slow
def test_a_finite_source_smooths_the_scan_dependence():
    bf = annulus_mask((64, 64), (32, 32), outer=7)
    point = virtual_image(simulate_4dstem(THIN, GRID).data, bf)
    mic = Microscope(source_fwhm_A=0.8)
    blurred = virtual_image(simulate_4dstem(THIN, GRID, mic, Multislice(samples=8)).data, bf)
    assert blurred.std() < 0.8 * point.std()


@pytest.mark.slow
def test_periodic_scan_is_exact_at_any_offset_and_blurs_like_a_source():
    crystal = replace(THIN, direction="RU", thickness_cells=8)
    step = crystal.extent / 32
    grid = simulate_4dstem(crystal, ScanGrid((32, 32), step)).data
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, crystal.extent, (6, 2))

    class Positions(ScanGrid):
        def positions(self):
            return xy

    direct = simulate_4dstem(crystal, Positions((1, 6), 1.0)).data[0]
    rows_cols = np.stack([-xy[:, 1] / step, xy[:, 0] / step], axis=1)
    interpolated = sample_positions(grid, rows_cols)
    assert np.abs(interpolated - direct).sum() / direct.sum() < 1e-3
    nearest = grid[np.round(rows_cols[:, 0]).astype(int) % 32,
                   np.round(rows_cols[:, 1]).astype(int) % 32]
    assert np.abs(nearest - direct).sum() / direct.sum() > 0.05  # the step is not negligible
    shifted = periodic_scan(grid, (0.5, 0.25))
    np.testing.assert_allclose(shifted[3, 7], sample_positions(grid, np.array([[3.5, 7.25]]))[0],
                               atol=1e-6)
    bf = annulus_mask((64, 64), (32, 32), outer=7)
    assert virtual_image(periodic_scan(grid, source_sigma_px=1.5), bf).std() < \
        0.8 * virtual_image(grid, bf).std()


def test_the_detector_psf_blurs_the_disk_edge(disk):
    sharp = (disk((64, 64), (32, 32), 10.0) / 100.0)[None, None].astype(np.float32)
    blurred = apply_detector(sharp, psf_sigma_px=1.0)

    def edge_width(p):
        profile = p[0, 0, 32, 32:]
        lo, hi = 0.1 * profile.max(), 0.9 * profile.max()
        return int((profile > lo).sum() - (profile > hi).sum())

    assert edge_width(blurred) >= edge_width(sharp) + 2
    assert blurred.sum() == pytest.approx(sharp.sum(), rel=1e-3)


def test_dark_counts_and_dose_are_poisson():
    flat = np.full((2, 3, 16, 16), 1 / 256, np.float32)
    counts = apply_detector(flat, dose=1e4, background=0.5, seed=0)
    assert counts.dtype == np.uint16
    assert counts.mean() == pytest.approx(1e4 / 256 + 0.5, rel=0.02)


def test_crystal_a_site_orders_and_o_displacement():
    pytest.importorskip("ase")
    layered = KNNCrystal(thickness_cells=4, a_site_order="layered").atoms()
    a = layered[[n in (11, 19) for n in layered.numbers]]
    by_depth = {round(z, 3): set(a.numbers[np.isclose(a.positions[:, 2], z)])
                for z in a.positions[:, 2]}
    assert all(len(v) == 1 for v in by_depth.values())  # one element per layer
    columnar = KNNCrystal(thickness_cells=4, a_site_order="columnar").atoms()
    a = columnar[[n in (11, 19) for n in columnar.numbers]]
    for xy in {tuple(p[:2].round(3)) for p in a.positions}:
        col = a.numbers[np.all(np.isclose(a.positions[:, :2], xy), axis=1)]
        assert len(set(col)) == 1  # one element per column
    moved = KNNCrystal(direction="RM", thickness_cells=2, d_o=0.05).atoms()
    o = moved.positions[moved.numbers == 8]
    assert np.isclose((o[:, 0] % (A_PSEUDOCUBIC / 2)).min(), A_PSEUDOCUBIC / 2 - 0.05,
                      atol=1e-6) or np.isclose(o[:, 0].min() % A_PSEUDOCUBIC,
                                               A_PSEUDOCUBIC - 0.05, atol=1e-6)
    with pytest.raises(ValueError, match="a_site_order"):
        KNNCrystal(a_site_order="sorted")


def test_grid_scan_equals_sampling_each_position_and_blurs_like_a_source():
    from ferromap.simulate.scanspace import grid_scan, scan_spectrum

    rng = np.random.default_rng(2)
    periodic = rng.random((16, 12, 5, 5)).astype(np.float32)
    spectrum = scan_spectrum(periodic)
    np.testing.assert_allclose(grid_scan(spectrum, np.arange(16), np.arange(12), (5, 5)),
                               periodic, atol=1e-5)
    rows, cols = np.array([0.3, 7.9, 15.5]), np.array([2.2, 11.6])
    pairs = np.array([[r, c] for r in rows for c in cols])
    np.testing.assert_allclose(grid_scan(spectrum, rows, cols, (5, 5)),
                               sample_positions(periodic, pairs).reshape(3, 2, 5, 5), atol=1e-5)
    blurred = grid_scan(spectrum, np.arange(16), np.arange(12), (5, 5), source_sigma_px=1.0)
    np.testing.assert_allclose(blurred, periodic_scan(periodic, source_sigma_px=1.0), atol=1e-5)
    with pytest.raises(ValueError, match="spectrum"):
        grid_scan(spectrum, rows, cols, (4, 4))
