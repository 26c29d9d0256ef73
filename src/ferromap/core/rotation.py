"""Estimate the scan-to-detector rotation (and flip) by minimising the curl of the CoM field.

The CoM shift is proportional to the projected electric field, a gradient field, so in the
right frame its curl vanishes. Rotation by θ mixes curl and divergence linearly:
``curl(R_θ F) = cos θ·curl(F) + sin θ·curl(R_90 F)``, so the curl energy is a quadratic form
in ``(cos θ, sin θ)`` evaluated on a fine grid at no cost. The remaining 180° ambiguity is
lifted physically: the field points toward the atom columns, so its divergence is negative
where the annular dark-field signal is high.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferromap.core.shift import rotate_vectors


def curl(field: np.ndarray) -> np.ndarray:
    """Curl ``∂F_x/∂y − ∂F_y/∂x`` in display axes (x = col, y = up), per scan position."""
    d_c_drow = np.gradient(field[..., 1], axis=0)
    d_r_dcol = np.gradient(field[..., 0], axis=1)
    # x = col, y = -row: dFy/dx - dFx/dy = -dF_r/dcol + dF_c/drow
    return d_c_drow - d_r_dcol


def divergence(field: np.ndarray) -> np.ndarray:
    """Divergence ``∂F_r/∂row + ∂F_c/∂col`` per scan position."""
    return np.gradient(field[..., 0], axis=0) + np.gradient(field[..., 1], axis=1)


@dataclass(frozen=True)
class RotationEstimate:
    """Result of :func:`estimate_rotation`.

    Attributes
    ----------
    rotation_deg : float
        Counter-clockwise rotation to pass to :func:`~ferromap.core.shift.rotate_vectors`.
    flip : bool
        Whether the detector rows must be mirrored first.
    curl_ratio : float
        RMS curl / RMS divergence at the optimum (small = confident).
    ambiguous_180 : bool
        True when no ADF image was given to choose between θ and θ + 180°.
    """

    rotation_deg: float
    flip: bool
    curl_ratio: float
    ambiguous_180: bool


def _curl_energy(shift: np.ndarray, flip: bool, angles: np.ndarray) -> np.ndarray:
    base = rotate_vectors(shift, 0.0, flip)
    a, b = curl(base), curl(rotate_vectors(base, 90.0))
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    c, s = np.cos(angles), np.sin(angles)
    return c**2 * (a @ a) + 2 * c * s * (a @ b) + s**2 * (b @ b)


def estimate_rotation(
    shift: np.ndarray, *, adf: np.ndarray | None = None, step_deg: float = 0.1
) -> RotationEstimate:
    """Find the rotation and flip that make the CoM shift field curl-free.

    Parameters
    ----------
    shift : numpy.ndarray
        ``(rows, cols, 2)`` CoM shift in detector axes (at least 3×3 positions).
    adf : numpy.ndarray, optional
        ``(rows, cols)`` annular dark-field image; used to pick θ vs θ + 180°.
    step_deg : float, optional
        Angular grid step.

    Returns
    -------
    RotationEstimate
        The correction to apply with :func:`~ferromap.core.shift.rotate_vectors`.
    """
    if shift.ndim != 3 or min(shift.shape[:2]) < 3:
        raise ValueError(f"need a (rows>=3, cols>=3, 2) shift field, got {shift.shape}")
    angles = np.deg2rad(np.arange(0.0, 180.0, step_deg))
    best = min(
        ((float(e.min()), flip, float(np.rad2deg(angles[e.argmin()])))
         for flip in (False, True) for e in [_curl_energy(shift, flip, angles)]),
    )
    _, flip, theta = best
    field = rotate_vectors(shift, theta, flip)
    c, d = curl(field), divergence(field)
    ok = np.isfinite(c) & np.isfinite(d)
    ratio = float(np.sqrt(np.mean(c[ok] ** 2) / max(np.mean(d[ok] ** 2), 1e-30)))
    if adf is not None:
        a = np.asarray(adf, dtype=np.float64)
        ok &= np.isfinite(a)
        if np.corrcoef(d[ok], a[ok])[0, 1] > 0:
            theta += 180.0
    return RotationEstimate(theta % 360.0, flip, ratio, adf is None)
