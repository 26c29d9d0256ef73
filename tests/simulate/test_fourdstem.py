"""Orientation conversion and scan geometry, without running abTEM."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.simulate.crystal import KNNCrystal
from ferromap.simulate.fourdstem import (
    Microscope,
    ScanGrid,
    _bin_and_crop,
    _bin_factor,
    from_abtem_patterns,
)


def test_abtem_ky_up_becomes_smaller_row():
    n = 16
    p = np.zeros((n, n))
    p[n // 2 + 3, n // 2 + 5] = 1  # kx = +3 (right), ky = +5 (up)
    ours = from_abtem_patterns(p)
    assert np.unravel_index(ours.argmax(), ours.shape) == (n // 2 - 5, n // 2 + 3)
    centre = np.zeros((n, n))
    centre[n // 2, n // 2] = 1
    assert from_abtem_patterns(centre)[n // 2, n // 2] == 1  # zero frequency stays put


def test_scan_grid_row_zero_is_the_top():
    pos = ScanGrid((2, 3), 0.5, (1.0, 4.0)).positions()
    np.testing.assert_allclose(pos[0], (1.0, 4.0))
    np.testing.assert_allclose(pos[2], (2.0, 4.0))  # along the row: x grows
    np.testing.assert_allclose(pos[3], (1.0, 3.5))  # next row: y decreases (down)


def test_binning_keeps_zero_frequency_centred():
    n = 128
    p = np.zeros((n, n))
    p[n // 2, n // 2] = 1
    out = _bin_and_crop(p, 2, 32)
    assert out.shape == (32, 32) and np.unravel_index(out.argmax(), out.shape) == (16, 16)
    with pytest.raises(ValueError, match="smaller"):
        _bin_and_crop(np.zeros((20, 20)), 1, 32)


def test_bin_factor_requires_whole_multiples():
    assert _bin_factor(KNNCrystal(cells=4), Microscope())[0] == 2
    assert _bin_factor(KNNCrystal(cells=6), Microscope())[0] == 3
    with pytest.raises(ValueError, match="whole multiple"):
        _bin_factor(KNNCrystal(cells=3), Microscope())


def test_crystal_atoms_and_vacancy():
    pytest.importorskip("ase", reason="ase comes with the simulate extra")
    c = KNNCrystal(direction="MU", cells=2, thickness_cells=4, d_nb=0.2)
    atoms = c.atoms()
    assert len(atoms) == 2 * 2 * 4 * 5
    nb = atoms.positions[atoms.numbers == 41]
    np.testing.assert_allclose(nb[:, 1] % c.a, c.a / 2 + 0.2, atol=1e-9)  # displaced up (+y)
    vac = KNNCrystal(direction="RD", cells=2, thickness_cells=4, vacancy=(1, 0, 2)).atoms()
    assert (vac.numbers == 8).sum() == (atoms.numbers == 8).sum() - 1
    assert KNNCrystal.with_thickness(20.0).thickness_cells == 51
