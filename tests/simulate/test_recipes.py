from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ferromap.classes import KNN8
from ferromap.simulate.recipes import RECIPES, simulate_domains, simulate_two_domain


def test_noisy_training_sets_are_noisy_copies_of_the_noise_free_ones():
    noisy = RECIPES["train-50nm-jitter-dose3e4"]
    assert replace(noisy.noise_free(), name="train-50nm-jitter") == RECIPES["train-50nm-jitter"]
    clean = np.full((2, 2, 8, 8), 1 / 64, np.float32)
    counts = noisy.add_noise(clean)
    assert counts.dtype == np.uint16 and abs(counts.sum() / 4 - 3e4) < 600
    np.testing.assert_array_equal(counts, noisy.add_noise(clean))  # seeded
    assert not np.array_equal(counts, RECIPES["train-50nm-jitter-dose1e5"].add_noise(clean))
    assert RECIPES["train-50nm"].add_noise(clean) is clean


def test_domain_map_follows_any_layout():
    layout = np.array([[0, 1, 2, 2], [0, 1, 1, 2], [0, 0, 1, 2]])
    data, truth, meta = simulate_domains(("MU", "RM", "LD"), layout, thickness_nm=2.0,
                                         dose=None)
    names = np.array(KNN8.names)
    assert (names[truth] == np.array(["MU", "RM", "LD"])[layout]).all()
    means = [data[layout == k].mean(axis=0) for k in range(3)]
    assert np.abs(means[0] - means[2]).max() > 1e-4 and meta["domains"] == ["MU", "RM", "LD"]
    with pytest.raises(ValueError, match="domain indices 0..1"):
        simulate_domains(("MU", "RM"), layout)
    _, truth2, _ = simulate_two_domain("MU", "RM", scan=(2, 4), thickness_nm=2.0, dose=None)
    assert (names[truth2] == [["MU", "MU", "RM", "RM"]] * 2).all()


def test_jittered_positions_cover_the_cell_and_are_seeded():
    from ferromap.simulate.fourdstem import ScanGrid

    exact = ScanGrid((8, 8), 0.5)
    jit = ScanGrid((8, 8), 0.5, jitter_A=0.25, seed=3)
    d = jit.positions() - exact.positions()
    assert np.abs(d).max() <= 0.25 and np.abs(d).max() > 0.2 and d.std() > 0.1
    np.testing.assert_array_equal(jit.positions(), ScanGrid((8, 8), 0.5, jitter_A=0.25,
                                                            seed=3).positions())
    frac = (jit.positions() / 0.5) % 1  # no longer on the sub-lattice of the grid
    assert len(np.unique(frac.round(3))) > 50
    train = {r.seed for n, r in RECIPES.items() if n.startswith("train-") and r.jitter_A}
    test = {r.seed for n, r in RECIPES.items() if n.startswith("test-")}
    assert not train & test  # the shipped model's crystals are never test crystals


def test_calibration_sets_share_no_crystal_or_offset_with_the_suite():
    """The calibration fits on other crystals, positions and nuisance levels than the suite
    it is tested on; its detector-only sets are noisy copies of one noise-free scan."""
    from dataclasses import replace

    from ferromap.simulate.recipes import CALIBRATION, SUITE

    suite_seeds = {r.seed for r in SUITE.values()}
    assert not suite_seeds & {r.seed for r in CALIBRATION.values()}
    assert not set(SUITE) & set(CALIBRATION)
    assert {r.offset_A for r in CALIBRATION.values()}.isdisjoint(r.offset_A for r in SUITE.values())
    clean = CALIBRATION["cal-clean"]
    copies = [r for r in CALIBRATION.values() if r.noise_seed is not None]
    assert len(copies) >= 4
    assert all(replace(r.noise_free(), name=clean.name) == clean for r in copies)
    dose_only = {r.dose for r in copies if r.dose and not r.psf_sigma_px}
    assert dose_only and dose_only.isdisjoint(r.dose for r in SUITE.values())
    for level in ("thickness_nm", "psf_sigma_px", "descan_shift_px", "microscope"):
        ours = {getattr(r, level) for r in CALIBRATION.values()} - {getattr(clean, level)}
        theirs = {getattr(r, level) for r in SUITE.values()}
        assert ours and ours.isdisjoint(theirs), level
