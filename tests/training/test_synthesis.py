"""Experiment-like scans from a periodic bank entry: the descan drawn is the descan applied,
and the crops come out centred through the inference geometry."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.core.com import center_of_mass
from ferromap.training.synthesis import (
    BankEntryData,
    Nuisances,
    experiment_scan,
    nuisances_from_dict,
    synthesize,
)

QUIET = Nuisances(source_fwhm_A=(0.0, 0.0), psf_sigma_px=(0.0, 0.0), p_noise_free=1.0,
                  p_dark=0.0, descan_ramp_px=0.0)


@pytest.fixture(scope="module")
def bank(disk):
    """A 16×16 periodic 'scan' of 68-px disks whose brightness follows the cell phase."""
    rr, cc = np.mgrid[0:16, 0:16]
    base = disk((68, 68), (34.0, 34.0), 8.0, value=1.0)
    ramp = np.mgrid[0:68, 0:68][1] / 68
    phase = np.cos(2 * np.pi * rr / 8) * np.sin(2 * np.pi * cc / 8)
    data = base[None, None] * (1 + 0.05 * phase[..., None, None] * ramp)
    return BankEntryData(data.astype(np.float32), 1, 0.25, "toy")


def test_the_descan_drawn_moves_every_pattern(bank):
    rng = np.random.default_rng(3)
    frames, draw = experiment_scan(bank.data, bank.step_A, rng,
                                   Nuisances(source_fwhm_A=(0.0, 0.0), psf_sigma_px=(0.0, 0.0),
                                             p_noise_free=1.0, p_dark=0.0))
    assert frames.shape == (16, 16, 64, 64) and draw["dose"] is None
    com = center_of_mass(frames)
    ramp = np.asarray(draw["descan_ramp_px"]) / 15
    r, c = np.mgrid[0:16, 0:16]
    expected = 32 + np.asarray(draw["descan_shift_px"]) + (r - 8)[..., None] * ramp[0] + \
        (c - 8)[..., None] * ramp[1]
    np.testing.assert_allclose(com, expected, atol=0.05)


def test_crops_come_out_centred_and_labelled(bank):
    x, y, draws = synthesize([bank], np.random.default_rng(0), size=32, positions=40,
                             repeats=2, nuisances=QUIET)
    assert x.shape == (80, 32, 32) and (y == 1).all() and len(draws) == 2
    com = center_of_mass(x[None])[0]
    assert np.abs(com - 16).max() < 0.3
    again, _, _ = synthesize([bank], np.random.default_rng(0), size=32, positions=40,
                             repeats=2, nuisances=QUIET)
    np.testing.assert_array_equal(x, again)


def test_dose_and_dark_counts_make_counts():
    rng = np.random.default_rng(1)
    flat = np.full((4, 4, 68, 68), 1 / 68**2, np.float32)
    frames, draw = experiment_scan(flat, 0.25, rng, Nuisances(p_noise_free=0.0, p_dark=1.0,
                                                              log10_dose=(4.0, 4.0)))
    assert np.allclose(frames, np.round(frames)) and draw["dose"] == pytest.approx(1e4)
    with pytest.raises(ValueError, match="unknown nuisance"):
        nuisances_from_dict({"gamma_rays": 1})
