"""Detector realism applied after the multislice: descan, point-spread function, dark counts
and shot noise, in the order a real detector applies them."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.ndimage import shift as nd_shift


def descan_shifts(
    scan_shape: tuple[int, int],
    shift_px: tuple[float, float] = (0.0, 0.0),
    ramp_px: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0)),
) -> np.ndarray:
    """Per-position beam shift ``shift + ramp[0]·row + ramp[1]·col`` in detector pixels.

    Parameters
    ----------
    scan_shape : tuple of int
        ``(rows, cols)``.
    shift_px : tuple of float
        Global ``(row, col)`` shift of the direct beam.
    ramp_px : tuple of tuple of float
        ``((d_row, d_col) per scan row, (d_row, d_col) per scan column)``.

    Returns
    -------
    numpy.ndarray
        ``(rows, cols, 2)``.
    """
    rows, cols = np.mgrid[0 : scan_shape[0], 0 : scan_shape[1]]
    ramp = np.asarray(ramp_px, dtype=float)
    return (np.asarray(shift_px, dtype=float) + rows[..., None] * ramp[0]
            + cols[..., None] * ramp[1])


def apply_detector(
    data: np.ndarray,
    *,
    dose: float | None = None,
    background: float = 0.0,
    shift_px: tuple[float, float] = (0.0, 0.0),
    ramp_px: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0)),
    psf_sigma_px: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Make simulated intensities look like a counting detector's frames.

    Parameters
    ----------
    data : numpy.ndarray
        ``(rows, cols, k_row, k_col)`` intensities as fractions of the beam.
    dose : float, optional
        Electrons per pattern; ``None`` keeps noise-free float32 intensities.
    background : float
        Mean dark counts per pixel (Poisson), or a constant offset without a dose.
    shift_px, ramp_px
        Descan: see :func:`descan_shifts` (cubic-spline sub-pixel shift of each pattern).
    psf_sigma_px : float
        Detector point-spread function: a Gaussian blur of this standard deviation in
        pixels (charge sharing of a pixelated detector), applied before the counting noise.
    seed : int
        Random seed of the noise.

    Returns
    -------
    numpy.ndarray
        uint16 counts when ``dose`` is given, float32 otherwise.
    """
    out = np.asarray(data, dtype=np.float32)
    if out.ndim != 4:
        raise ValueError(f"data must be (rows, cols, k_row, k_col), got shape {out.shape}")
    if psf_sigma_px < 0 or background < 0 or (dose is not None and dose <= 0):
        raise ValueError("psf_sigma_px and background must be >= 0 and dose > 0")
    shifts = descan_shifts(out.shape[:2], shift_px, ramp_px)
    if np.any(shifts != 0):
        out = out.copy()
        for idx in np.ndindex(out.shape[:2]):
            out[idx] = nd_shift(out[idx], shifts[idx], order=3, mode="constant")
        out = np.clip(out, 0, None)
    if psf_sigma_px > 0:
        out = gaussian_filter(out, (0, 0, psf_sigma_px, psf_sigma_px), mode="constant")
    if dose is None:
        return (out + np.float32(background)).astype(np.float32)
    rng = np.random.default_rng(seed)
    counts = rng.poisson(np.clip(out, 0, None) * dose + background)
    return np.clip(counts, 0, np.iinfo(np.uint16).max).astype(np.uint16)
