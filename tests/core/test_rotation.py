"""Curl minimisation recovers a known scan-detector rotation and flip, 180° included."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.core.rotation import curl, estimate_rotation
from ferromap.core.shift import rotate_vectors


def atom_lattice(n=40, period=8.0):
    """Projected potential of a square lattice of atoms and its CoM field (toward atoms)."""
    rows, cols = np.mgrid[0:n, 0:n].astype(float)
    pot = np.zeros((n, n))
    for r0 in np.arange(period / 2, n, period):
        for c0 in np.arange(period / 2, n, period * 1.3):
            pot += np.exp(-((rows - r0) ** 2 + (cols - c0) ** 2) / 4.0)
    field = np.stack(np.gradient(pot), axis=-1)  # points uphill = toward the atoms
    return field, pot


def to_detector(field, theta, flip):
    """Inverse of rotate_vectors(., theta, flip): what a rotated detector would record."""
    v = rotate_vectors(field, -theta)
    return v * np.array([-1.0 if flip else 1.0, 1.0])


@pytest.mark.parametrize(("theta", "flip"), [(0.0, False), (37.0, False), (200.0, True),
                                             (295.5, False), (90.0, True)])
def test_recovers_rotation_with_adf(theta, flip):
    field, adf = atom_lattice()
    est = estimate_rotation(to_detector(field, theta, flip), adf=adf)
    assert est.flip == flip
    assert (est.rotation_deg - theta + 180) % 360 - 180 == pytest.approx(0, abs=0.2)
    assert est.curl_ratio < 0.05 and not est.ambiguous_180
    corrected = rotate_vectors(to_detector(field, theta, flip), est.rotation_deg, est.flip)
    np.testing.assert_allclose(corrected, field, atol=1e-2 * np.abs(field).max())


def test_without_adf_the_answer_is_modulo_180():
    field, _ = atom_lattice()
    est = estimate_rotation(to_detector(field, 250.0, False))
    assert est.ambiguous_180
    assert est.rotation_deg == pytest.approx(70.0, abs=0.2)


def test_curl_of_gradient_is_small_and_of_rotation_is_not():
    field, _ = atom_lattice()
    assert np.abs(curl(field)).mean() < 0.05 * np.abs(curl(rotate_vectors(field, 90))).mean()
