"""The descan surface is the beam's drift, not the lattice's deflection."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.core.descan import fit_descan


def lattice_com(rows, cols, period, amplitude=0.8):
    r, c = np.mgrid[0:rows, 0:cols]
    return amplitude * np.stack([np.sin(2 * np.pi * r / period) * np.cos(2 * np.pi * c / period),
                                 np.cos(2 * np.pi * r / period) * np.sin(2 * np.pi * c / period)],
                                -1)


@pytest.mark.parametrize("period", [5.3, 6.0, 8.0])
def test_joint_fit_recovers_a_ramp_under_a_lattice(period):
    r, c = np.mgrid[0:16, 0:16]
    ramp = np.stack([31.4 + 0.06 * r + 0.03 * c, 32.2 - 0.02 * r + 0.08 * c], -1)
    com = ramp + lattice_com(16, 16, period)
    fit = fit_descan(com)
    assert fit.lattice is not None
    assert np.abs(fit.surface - ramp).max() < 0.02
    if 16 % period:  # whole periods average out of a plane; a fraction of one does not
        plane_only = fit_descan(com, lattice=None)
        assert np.abs(plane_only.surface - ramp).max() > 2 * np.abs(fit.surface - ramp).max()


def test_orders_nan_and_errors():
    r, c = np.mgrid[0:12, 0:14]
    quad = np.stack([30 + 0.01 * r**2, 31 + 0.02 * r * c], -1)
    com = quad.astype(float)
    com[3, 4] = np.nan
    assert np.abs(fit_descan(com, order="quadratic").surface - quad).max() < 1e-9
    mean = fit_descan(com, order="mean").surface
    assert np.allclose(mean, np.nanmean(com.reshape(-1, 2), axis=0))
    assert fit_descan(com, order="plane").to_dict()["order"] == 1
    with pytest.raises(ValueError, match="order must be"):
        fit_descan(com, order="cubic")
    with pytest.raises(ValueError, match="no scan position"):
        fit_descan(np.full((2, 2, 2), np.nan))
    with pytest.raises(ValueError, match="com must be"):
        fit_descan(np.zeros((4, 4)))


def test_tiny_scans_fall_back_to_the_surface():
    com = np.array([[[10.0, 11.0], [10.5, 11.2]]])
    fit = fit_descan(com)
    assert fit.lattice is None and fit.surface.shape == (1, 2, 2)


def test_a_lattice_too_slow_to_tell_from_a_ramp_is_not_fitted():
    r, c = np.mgrid[0:16, 0:16]
    ramp = np.stack([30 + 0.1 * r, 31 - 0.05 * c], -1)
    com = ramp + lattice_com(16, 16, 6.0)
    slow = fit_descan(com, lattice=np.array([[1 / 40, 0.0], [0.0, 1 / 6]]))
    assert np.abs(slow.surface - ramp).max() < 0.05  # the 40-px "period" is left to the plane
