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

import numpy as np

from ferromap.core.stream import (
    Buffer,
    Kernel,
    ProgressCallback,
    Where,
    check_4d,
    run,
    run_length,
    runs,
)

#: A Fourier peak must be this many times the median power to count as a lattice.
MIN_PEAK_CONTRAST = 25.0
#: At most this many peaks, the shortest, are refined (each of ±g counts): a lattice and
#: its first harmonics, not the noise of a scan with no lattice.
MAX_PEAKS = 16


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
    cand = strong_peaks(images, min_repeats)
    for i, g1 in enumerate(cand):
        for g2 in cand[i + 1 :]:
            cross = g1[0] * g2[1] - g1[1] * g2[0]
            if abs(cross) > 0.2 * np.linalg.norm(g1) * np.linalg.norm(g2):
                return np.array([g1, g2])
    return None


def strong_peaks(images: np.ndarray, min_repeats: float = 2.0) -> np.ndarray:
    """Fourier peaks of scan images that stand out (the :data:`MAX_PEAKS` shortest),
    shortest first, as ``(n, 2)`` ``(row, col)`` frequencies in cycles per scan pixel (one
    of each ± pair or both).

    Parameters
    ----------
    images : numpy.ndarray
        ``(rows, cols)`` or ``(n, rows, cols)`` (NaN allowed).
    min_repeats : float
        Frequencies with fewer repeats than this along both scan axes are ignored.

    Returns
    -------
    numpy.ndarray
        ``(n_peaks, 2)``; empty when nothing is :data:`MIN_PEAK_CONTRAST` times above the
        median power.
    """
    stack = np.asarray(images, dtype=np.float64)
    stack = stack[None] if stack.ndim == 2 else stack
    if stack.ndim != 3:
        raise ValueError(f"images must be (rows, cols) or (n, rows, cols), got {stack.shape}")
    power = np.zeros(stack.shape[1:])
    for img in stack:
        power += np.abs(np.fft.fft2(np.nan_to_num(img - np.nanmean(img)))) ** 2
    rows, cols = power.shape
    fr = np.broadcast_to(np.fft.fftfreq(rows)[:, None], power.shape)
    fc = np.broadcast_to(np.fft.fftfreq(cols)[None], power.shape)
    power[(np.abs(fr) * rows < min_repeats) & (np.abs(fc) * cols < min_repeats)] = 0.0
    if not (power > 0).any():
        return np.zeros((0, 2))
    from scipy.ndimage import maximum_filter

    strong = power >= max(MIN_PEAK_CONTRAST * np.median(power[power > 0]), 0.05 * power.max())
    strong &= power >= maximum_filter(power, size=3, mode="wrap")  # local maxima only
    cand, p = np.stack([fr[strong], fc[strong]], axis=1), power[strong]
    cand = cand[np.lexsort((-p, np.hypot(*cand.T)))][:MAX_PEAKS]
    return np.array([refine_frequency(stack, g) for g in cand]).reshape(-1, 2)


def refine_frequency(stack: np.ndarray, g: np.ndarray, steps: int = 25,
                     width: float = 0.6, rounds: int = 3) -> np.ndarray:
    """A Fourier peak located to a fraction of a frequency bin.

    The FFT of an ``R × C`` scan knows frequencies only to ``1/R`` and ``1/C``; a lattice
    whose period is not a whole number of scan pixels falls between bins, and harmonics at
    the binned frequency then fit it poorly. The power of the discrete-time Fourier
    transform (Hann-windowed, so that a strong neighbouring peak does not pull it) is
    maximised on a grid within ±``width`` bins of ``g``, then on finer grids around the best
    point (``rounds`` times, each ten times finer).
    """
    rows, cols = stack.shape[1:]
    imgs = np.nan_to_num(stack - np.nanmean(stack, axis=(1, 2), keepdims=True))
    imgs = imgs * np.outer(np.hanning(rows + 2)[1:-1], np.hanning(cols + 2)[1:-1])  # no leakage
    best = np.asarray(g, dtype=np.float64)
    for k in range(rounds):
        half = width / 10**k
        fr = best[0] + np.linspace(-half, half, steps) / rows
        fc = best[1] + np.linspace(-half, half, steps) / cols
        er = np.exp(-2j * np.pi * fr[:, None] * np.arange(rows)[None])  # (steps, rows)
        ec = np.exp(-2j * np.pi * np.arange(cols)[:, None] * fc[None])  # (cols, steps)
        power = (np.abs(np.einsum("sr,nrc,ct->nst", er, imgs, ec, optimize=True)) ** 2).sum(0)
        i, j = np.unravel_index(np.argmax(power), power.shape)
        best = np.array([fr[i], fc[j]])
    return best


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


class PhaseSums(Kernel):
    """Sum of the patterns of every lattice phase (a ``"sum"`` buffer) and its counts."""

    def __init__(self, phase: np.ndarray, n_bins: int, n_px: int):
        self.phase, self.n_bins = phase, n_bins
        self.buffers = (Buffer("sums", (n_bins, n_px), "sum", "float64"),)

    def process(self, block: np.ndarray, where: Where) -> dict[str, np.ndarray]:
        flat = block.reshape(-1, block.shape[2] * block.shape[3])
        phase = self.phase[where].ravel()
        sums = np.zeros((self.n_bins, flat.shape[1]))
        for part in runs(len(flat), run_length(8 * flat.shape[1])):  # a few MB of float64
            onehot = np.zeros((part.stop - part.start, self.n_bins))
            onehot[np.arange(len(onehot)), phase[part]] = 1.0
            sums += onehot.T @ flat[part].astype(np.float64)
        return {"sums": sums}


class PhaseChi2(Kernel):
    """Chi-square distance of each pattern from the mean pattern of its phase."""

    buffers = (Buffer("chi2"),)

    def __init__(self, phase: np.ndarray, mean: np.ndarray):
        self.phase, self.mean = phase, mean
        self.weight = 1.0 / (mean + 1e-3 * mean.mean(axis=-1, keepdims=True) + 1e-12)

    def process(self, block: np.ndarray, where: Where) -> dict[str, np.ndarray]:
        r, c = block.shape[:2]
        flat, phase = block.reshape(r * c, -1), self.phase[where].ravel()
        chi2 = np.empty(r * c)
        for part in runs(r * c, run_length(8 * flat.shape[1])):  # a few MB of float64
            k = phase[part]
            chi2[part] = (((flat[part].astype(np.float64) - self.mean[k]) ** 2)
                         * self.weight[k]).sum(axis=-1)
        return {"chi2": chi2.reshape(r, c)}


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

    Two streaming passes (phase sums, then distances); memory holds a few blocks and the
    ``n_bins`` mean patterns.

    Parameters
    ----------
    data : array_like
        ``(rows, cols, k_row, k_col)``.
    phase : numpy.ndarray
        ``(rows, cols)`` phase bin per position (:func:`phase_map`).
    n_bins : int
        Number of phase bins.
    progress, cancel, scheduler
        See :func:`ferromap.core.stream.run` (progress runs over both passes).

    Returns
    -------
    numpy.ndarray
        ``(rows, cols)`` float32.
    """
    check_4d(data, "data")
    phase = np.asarray(phase)
    if phase.shape != tuple(data.shape[:2]):
        raise ValueError(f"phase has shape {phase.shape}; the scan is {tuple(data.shape[:2])}")
    n_px = int(data.shape[2] * data.shape[3])
    half = (lambda d, t: progress(d, 2 * t)) if progress else None
    total = run(data, PhaseSums(phase, n_bins, n_px), progress=half, cancel=cancel,
                scheduler=scheduler)["sums"]
    counts = np.bincount(phase.ravel(), minlength=n_bins)
    mean = total / np.maximum(counts, 1)[:, None]
    rest = (lambda d, t: progress(t + d, 2 * t)) if progress else None
    return run(data, PhaseChi2(phase, mean), progress=rest, cancel=cancel,
               scheduler=scheduler)["chi2"]


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


def repeat_period(maps: np.ndarray, min_repeats: float = 2.0) -> float | None:
    """The period of a square lattice aligned with the scan, in positions, from its maps.

    The maps (standardised, the central 64 × 64 positions) give the two shortest
    non-collinear Fourier peaks that stand out (:func:`reciprocal_lattice`, located to a
    fraction of a frequency bin), so the result is the cell, not a harmonic or a multiple
    of it, and is not biased by how coarsely the scan samples the cell. Half a cell of a
    perovskite, where a column of another kind sits, does not repeat it.

    Parameters
    ----------
    maps : numpy.ndarray
        ``(rows, cols, n)`` per-position maps, e.g. diffraction features.
    min_repeats : float
        The cell must repeat at least this many times along each scan axis.

    Returns
    -------
    float or None
        The period in positions; ``None`` when no lattice stands out, or it is not a
        square cell along the scan axes (the two periods differ by more than 10 % or the
        cell is turned by more than about 10°).
    """
    f = np.asarray(maps, dtype=np.float64)
    if f.ndim != 3 or min(f.shape[:2]) < 4:
        raise ValueError(f"maps must be (rows, cols, n) of at least 4 positions per side, "
                         f"got {f.shape}")
    r0, c0 = (max(0, (n - 64) // 2) for n in f.shape[:2])
    f = f[r0 : r0 + 64, c0 : c0 + 64]
    f = (f - np.nanmean(f, axis=(0, 1))) / (np.nanstd(f, axis=(0, 1)) + 1e-12)
    g = reciprocal_lattice(np.moveaxis(f, -1, 0), min_repeats)
    return None if g is None else square_cell(g, mismatch=0.1, max_turn_deg=10.0)


def square_cell(g: np.ndarray, mismatch: float, max_turn_deg: float) -> float | None:
    """The period, in positions, of the square cell along the scan axes that the reciprocal
    pair ``g`` ``(2, 2)`` describes, or ``None`` when it is not one: the two periods differ
    by more than ``mismatch`` of the longer, a vector is turned more than ``max_turn_deg``
    from its axis, or both lie along the same axis.

    Parameters
    ----------
    g : numpy.ndarray
        ``(2, 2)`` reciprocal vectors in cycles per scan position, ``(row, col)`` each.
    mismatch : float
        Largest relative difference of the two periods.
    max_turn_deg : float
        Largest angle of a vector to its scan axis.

    Returns
    -------
    float or None
        The mean period in positions.
    """
    g = np.asarray(g, dtype=np.float64)
    if g.shape != (2, 2) or not np.all(np.linalg.norm(g, axis=1) > 0):
        raise ValueError(f"g must be two non-zero (row, col) vectors, got {g.tolist()}")
    periods = 1.0 / np.linalg.norm(g, axis=1)
    axes = np.abs(g).argmax(axis=1)
    turned = np.abs(g).min(axis=1) / np.abs(g).max(axis=1)  # tan of the angle to its axis
    if (abs(periods[0] - periods[1]) > mismatch * periods.max() or axes[0] == axes[1]
            or turned.max() > np.tan(np.radians(max_turn_deg))):
        return None
    return float(periods.mean())
