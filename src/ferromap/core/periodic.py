"""Lattice-periodic residuals: a defect breaks the crystal's repetition from cell to cell.

In a perfect crystal the pattern at a scan position repeats one lattice vector away. So
every position is assigned a *phase* (its fractional coordinates in the scan-space lattice,
binned), the mean pattern of each phase is accumulated in one streaming pass, and a second
pass measures how far each pattern is from its phase's mean (a chi-square distance). A robust
z-score within each phase then compares a position with its own lattice-equivalents only, so
positions that are always more variable (e.g. on the disordered K/Na columns) do not stand
out, while a local defect such as an oxygen vacancy does. Nothing here depends on a model.

The lattice is found from the two strongest non-collinear Fourier peaks of a scan image (the
CoM-shift magnitude map, which follows the atomic columns).
"""

from __future__ import annotations

import threading

import dask.array as da
import numpy as np

from ferromap.core.stream import ProgressCallback, as_dask, compute

#: A Fourier peak must be this many times the median power to count as a lattice.
MIN_PEAK_CONTRAST = 25.0


def reciprocal_lattice(images: np.ndarray, min_repeats: float = 2.0) -> np.ndarray | None:
    """Two reciprocal lattice vectors ``(2, 2)`` in cycles per scan pixel, ``(row, col)``.

    The power spectra of the images are summed; among the peaks that stand out, the two
    shortest non-collinear ones are the lattice (so a strong harmonic, e.g. the half-period
    of a CoM magnitude map, is not taken for the lattice).

    Parameters
    ----------
    images : numpy.ndarray
        ``(rows, cols)`` or ``(n, rows, cols)`` scan images with the lattice in them, e.g.
        the two CoM-shift components (NaN allowed).
    min_repeats : float
        The lattice must repeat at least this many times along each scan axis it runs along.

    Returns
    -------
    numpy.ndarray or None
        ``None`` when there is no clear periodicity (fewer than two non-collinear peaks
        :data:`MIN_PEAK_CONTRAST` times above the median power).
    """
    stack = np.asarray(images, dtype=np.float64)
    stack = stack[None] if stack.ndim == 2 else stack
    power = np.zeros(stack.shape[1:])
    for img in stack:
        power += np.abs(np.fft.fft2(np.nan_to_num(img - np.nanmean(img)))) ** 2
    rows, cols = power.shape
    fr = np.broadcast_to(np.fft.fftfreq(rows)[:, None], power.shape)
    fc = np.broadcast_to(np.fft.fftfreq(cols)[None], power.shape)
    power[(np.abs(fr) * rows < min_repeats) & (np.abs(fc) * cols < min_repeats)] = 0.0
    if not (power > 0).any():
        return None
    strong = power >= max(MIN_PEAK_CONTRAST * np.median(power[power > 0]), 0.05 * power.max())
    cand = np.stack([fr[strong], fc[strong]], axis=1)
    cand = cand[np.lexsort((-power[strong], np.hypot(*cand.T)))]  # shortest first
    for i, g1 in enumerate(cand):
        for g2 in cand[i + 1 :]:
            cross = g1[0] * g2[1] - g1[1] * g2[0]
            if abs(cross) > 0.2 * np.linalg.norm(g1) * np.linalg.norm(g2):
                return np.array([g1, g2])
    return None


def phase_map(scan_shape: tuple[int, int], reciprocal: np.ndarray) -> tuple[np.ndarray, int]:
    """Binned lattice phase of every position, and the number of bins.

    Each lattice direction gets as many bins as scan pixels per period (at least 2).
    """
    rows, cols = np.mgrid[0 : scan_shape[0], 0 : scan_shape[1]]
    frac = np.tensordot(reciprocal, np.stack([rows, cols]), axes=1) % 1.0  # (2, rows, cols)
    bins = [max(2, int(round(1.0 / np.linalg.norm(g)))) for g in reciprocal]
    n = np.array(bins)[:, None, None]
    idx = np.floor(frac * n + 0.5).astype(int) % n  # bins centred on whole scan steps
    return (idx[0] * bins[1] + idx[1]).astype(np.intp), bins[0] * bins[1]


def _phase_sums(block: np.ndarray, phase: np.ndarray, n_bins: int) -> np.ndarray:
    flat = block.reshape(-1, block.shape[2] * block.shape[3]).astype(np.float64)
    onehot = np.zeros((len(flat), n_bins))
    onehot[np.arange(len(flat)), phase.ravel()] = 1.0
    return (onehot.T @ flat)[None, None]


def _chi2(block: np.ndarray, phase: np.ndarray, mean: np.ndarray) -> np.ndarray:
    flat = block.reshape(block.shape[0], block.shape[1], -1).astype(np.float64)
    ref = mean[phase[:, :, 0, 0]]
    weight = 1.0 / (ref + 1e-3 * ref.mean(axis=-1, keepdims=True) + 1e-12)
    return (((flat - ref) ** 2) * weight).sum(axis=-1, keepdims=True).astype(np.float32)


def periodic_residual(
    data,
    phase: np.ndarray,
    n_bins: int,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scheduler=None,
) -> np.ndarray:
    """Chi-square distance of every pattern from the mean pattern of its lattice phase.

    Two streaming passes (phase sums, then distances); memory holds a few chunks and the
    ``n_bins`` mean patterns.

    Returns
    -------
    numpy.ndarray
        ``(rows, cols)`` float32.
    """
    arr = as_dask(data)
    ph = da.from_array(phase[:, :, None, None], chunks=(*arr.chunks[:2], (1,), (1,)))
    n_px = arr.shape[2] * arr.shape[3]
    blocks = (tuple(1 for _ in arr.chunks[0]), tuple(1 for _ in arr.chunks[1]))
    sums = da.map_blocks(_phase_sums, arr, ph, n_bins, dtype=np.float64,
                         chunks=(*blocks, (n_bins,), (n_px,))).sum(axis=(0, 1))
    half = (lambda d, t: progress(d // 2, t)) if progress else None
    total = compute(sums, progress=half, cancel=cancel, scheduler=scheduler)
    counts = np.bincount(phase.ravel(), minlength=n_bins)
    mean = total / np.maximum(counts, 1)[:, None]
    out = da.map_blocks(_chi2, arr, ph, mean=mean, dtype=np.float32,
                        chunks=(*arr.chunks[:2], (1,)), drop_axis=3)
    rest = (lambda d, t: progress(t // 2 + d // 2, t)) if progress else None
    return compute(out, progress=rest, cancel=cancel, scheduler=scheduler)[..., 0]


def phase_zscore(residual: np.ndarray, phase: np.ndarray, n_bins: int) -> np.ndarray:
    """Robust z-score (median, 1.4826·MAD) of each residual among its lattice-equivalents."""
    z = np.zeros(residual.shape, np.float32)
    for k in range(n_bins):
        sel = (phase == k) & np.isfinite(residual)
        if sel.sum() < 3:
            continue
        r = residual[sel]
        med = np.median(r)
        mad = 1.4826 * np.median(np.abs(r - med))
        z[sel] = (r - med) / max(mad, 1e-6 * abs(med), 1e-30)
    return z
