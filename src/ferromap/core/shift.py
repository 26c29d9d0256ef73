"""CoM shift maps: reference subtraction (mean or descan plane), rotation/flip, polar form.

Vectors are ``(..., 2)`` arrays of ``(row, col)`` components. Angles are counter-clockwise from
+col with "up" = smaller row, so a unit vector at angle θ is ``(-sin θ, cos θ)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np


def _finite(com: np.ndarray) -> np.ndarray:
    ok = np.all(np.isfinite(com), axis=-1)
    if not ok.any():
        raise ValueError("no scan position has a centre of mass (all patterns are empty)")
    return ok


def com_shift(
    com: np.ndarray,
    *,
    reference: Literal["mean", "plane", "quadratic"] | np.ndarray = "mean",
) -> np.ndarray:
    """CoM minus a reference centre.

    Parameters
    ----------
    com : numpy.ndarray
        ``(rows, cols, 2)`` CoM in detector pixels.
    reference : {"mean", "plane", "quadratic"} or numpy.ndarray
        ``"mean"``: the dataset's global mean CoM; ``"plane"``/``"quadratic"``: the fitted
        descan surface (:func:`ferromap.core.descan.fit_descan`, which leaves the
        lattice-periodic part in the shift); or an explicit ``(2,)``/``(rows, cols, 2)``
        array.

    Returns
    -------
    numpy.ndarray
        ``(rows, cols, 2)`` shift; NaN where the CoM is NaN.
    """
    com = np.asarray(com, dtype=np.float64)
    if com.ndim != 3 or com.shape[-1] != 2:
        raise ValueError(f"com must be (rows, cols, 2), got shape {com.shape}")
    if isinstance(reference, str):
        from ferromap.core.descan import ORDERS, fit_descan

        if reference not in ORDERS:
            raise ValueError(f"reference must be one of {', '.join(ORDERS)}, got {reference!r}")
        _finite(com)
        ref = fit_descan(com, order=reference).surface
    else:
        ref = np.asarray(reference, dtype=np.float64)
    return com - ref


def rotate_vectors(vectors: np.ndarray, rotation_deg: float = 0.0, flip: bool = False) -> np.ndarray:
    """Map detector-frame vectors into the scan frame.

    The detector row axis is mirrored first when ``flip`` is true, then the vectors are
    rotated counter-clockwise (as displayed, "up" = smaller row) by ``rotation_deg``.

    Parameters
    ----------
    vectors : numpy.ndarray
        ``(..., 2)`` ``(row, col)`` components.
    rotation_deg : float, optional
        Counter-clockwise rotation in degrees.
    flip : bool, optional
        Mirror the detector rows (``row -> -row``) before rotating.

    Returns
    -------
    numpy.ndarray
        Rotated ``(..., 2)`` vectors.
    """
    r = vectors[..., 0] * (-1.0 if flip else 1.0)
    c = vectors[..., 1]
    t = np.deg2rad(rotation_deg)
    return np.stack([r * np.cos(t) - c * np.sin(t), c * np.cos(t) + r * np.sin(t)], axis=-1)


def magnitude_angle(shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude and direction of shift vectors.

    Parameters
    ----------
    shift : numpy.ndarray
        ``(..., 2)`` ``(row, col)`` shifts.

    Returns
    -------
    magnitude : numpy.ndarray
        ``hypot(shift_r, shift_c)``.
    angle_deg : numpy.ndarray
        Degrees in ``[0, 360)``, counter-clockwise from +col, up = smaller row; NaN where
        the shift is NaN.
    """
    magnitude = np.hypot(shift[..., 0], shift[..., 1])
    angle = np.rad2deg(np.arctan2(-shift[..., 0], shift[..., 1])) % 360.0
    return magnitude, angle


def magnitude_filter(magnitude: np.ndarray) -> np.ndarray:
    """Boolean mask of positions whose normalised CoM-shift magnitude exceeds the scan mean
    (every position with a CoM when the magnitudes do not spread: one position, say).

    Parameters
    ----------
    magnitude : numpy.ndarray
        CoM-shift magnitude map of one scan (NaN = no CoM, never kept).

    Returns
    -------
    numpy.ndarray
        Boolean mask of the same shape.
    """
    m = np.asarray(magnitude, dtype=np.float64)
    ok = np.isfinite(m)
    if not ok.any():
        return np.zeros(m.shape, bool)
    lo, hi = m[ok].min(), m[ok].max()
    if hi == lo:  # nothing to rank
        return ok
    norm = np.where(ok, (m - lo) / (hi - lo), -np.inf)
    return norm > norm[ok].mean()
