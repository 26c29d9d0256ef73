"""Physics of the simulator in OUR orientation; these fail if an axis is flipped or transposed.

Tiny abTEM runs (5 nm, ≤ 64 positions) take a few seconds each.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("abtem", reason="abtem is not installed: pip install 'ferromap[simulate]'")

from ferromap.classes import KNN8  # noqa: E402
from ferromap.core.com import center_of_mass  # noqa: E402
from ferromap.core.shift import magnitude_angle  # noqa: E402
from ferromap.core.virtual import annulus_mask, virtual_image  # noqa: E402
from ferromap.simulate import A_PSEUDOCUBIC, KNNCrystal, ScanGrid, simulate_4dstem  # noqa: E402

THIN = 13  # unit cells, ~5 nm


def test_com_deflection_points_toward_the_atom_column():
    crystal = KNNCrystal(direction=None, thickness_cells=THIN)
    x, y = crystal.nb_column()
    step = 0.3
    sim = simulate_4dstem(crystal, ScanGrid((3, 3), step, (x - step, y + step)))
    shift = center_of_mass(sim.data) - 32  # the direct beam's zero frequency is at px 32
    assert np.abs(shift[1, 1]).max() < 0.02  # on the column: ~no deflection (K/Na disorder)
    for r, c in np.ndindex(3, 3):
        if (r, c) == (1, 1):
            continue
        toward = np.array([1 - r, 1 - c], float)  # (row, col) vector to the column
        cos = shift[r, c] @ toward / np.linalg.norm(shift[r, c]) / np.linalg.norm(toward)
        assert cos > 0.97, f"position {(r, c)} deflects {shift[r, c]}, not toward the column"


@pytest.mark.parametrize("direction", ["MU", "RU", "LD"])
def test_adf_dipole_follows_the_labelled_direction(direction):
    a = A_PSEUDOCUBIC
    step = a / 8
    grid = ScanGrid((8, 8), step, (a / 2 - 3.5 * step, a / 2 + 3.5 * step))  # cell centred
    adf_mask = annulus_mask((64, 64), (32, 32), outer=40, inner=16)  # ~50-127 mrad
    images = {}
    for d in (None, direction):
        sim = simulate_4dstem(KNNCrystal(direction=d, thickness_cells=THIN), grid)
        images[d] = virtual_image(sim.data, adf_mask)
    diff = images[direction] - images[None]
    rr, cc = np.mgrid[0:8, 0:8] - 3.5
    dipole = np.array([(diff * rr).sum(), (diff * cc).sum()])
    _, angle = magnitude_angle(dipole)
    expected = KNN8.angles_deg[KNN8.index(direction)]
    assert abs((angle - expected + 180) % 360 - 180) < 10


def test_metadata_and_calibration():
    crystal = KNNCrystal(direction="RD", thickness_cells=3)
    sim = simulate_4dstem(crystal, ScanGrid((2, 2), 0.5))
    assert sim.data.shape == (2, 2, 64, 64) and sim.data.dtype == np.float32
    assert sim.mrad_per_px == pytest.approx(3.1746, abs=1e-3)
    assert sim.scan_step_nm == pytest.approx(0.05)
    assert 0.9 < sim.data[0, 0].sum() <= 1.0001
    assert sim.metadata["crystal"]["direction"] == "RD"
    ds = sim.to_dataset()
    assert ds.calibration.mrad_per_px == sim.mrad_per_px and ds.scan_shape == (2, 2)


def test_larger_box_is_binned_to_the_same_sampling():
    crystal = KNNCrystal(direction=None, cells=4, thickness_cells=3)
    sim = simulate_4dstem(crystal, ScanGrid((1, 1), 0.5, (1.975, 1.975)))
    assert sim.mrad_per_px == pytest.approx(3.1746, abs=1e-3)
    assert sim.data.shape[-2:] == (64, 64)
    assert np.abs(center_of_mass(sim.data)[0, 0] - 32).max() < 0.3
