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

from ferromap.core.stream import Buffer, Kernel, ProgressCallback, Where, check_4d, run

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
    cand = strong_peaks(images, min_repeats)
    for i, g1 in enumerate(cand):
        for g2 in cand[i + 1 :]:
            cross = g1[0] * g2[1] - g1[1] * g2[0]
            if abs(cross) > 0.2 * np.linalg.norm(g1) * np.linalg.norm(g2):
                return np.array([g1, g2])
    return None


def strong_peaks(images: np.ndarray, min_repeats: float = 2.0) -> np.ndarray:
    """Fourier peaks of scan images that stand out, shortest first, as ``(n, 2)``
    ``(row, col)`` frequencies in cycles per scan pixel (one of each ± pair or both).

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
    cand = np.stack([fr[strong], fc[strong]], axis=1)
    cand = cand[np.lexsort((-power[strong], np.hypot(*cand.T)))]
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
        power = sum(np.abs(er @ img @ ec) ** 2 for img in imgs)
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
        flat = block.reshape(-1, block.shape[2] * block.shape[3]).astype(np.float64)
        onehot = np.zeros((len(flat), self.n_bins))
        onehot[np.arange(len(flat)), self.phase[where].ravel()] = 1.0
        return {"sums": onehot.T @ flat}


class PhaseChi2(Kernel):
    """Chi-square distance of each pattern from the mean pattern of its phase."""

    buffers = (Buffer("chi2"),)

    def __init__(self, phase: np.ndarray, mean: np.ndarray):
        self.phase, self.mean = phase, mean

    def process(self, block: np.ndarray, where: Where) -> dict[str, np.ndarray]:
        flat = block.reshape(block.shape[0], block.shape[1], -1).astype(np.float64)
        ref = self.mean[self.phase[where]]
        weight = 1.0 / (ref + 1e-3 * ref.mean(axis=-1, keepdims=True) + 1e-12)
        return {"chi2": (((flat - ref) ** 2) * weight).sum(axis=-1)}


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


def repeat_period(maps: np.ndarray, min_lag: float = 2.0, max_lag: float = 24.0,
                  resolution: float = 0.05, max_mismatch: float = 0.6) -> float | None:
    """The lattice period of a scan, in positions, from how its maps repeat.

    For each lag along the scan rows and along the columns, the maps are compared with a
    copy of themselves moved by that lag (linear interpolation between positions); the
    mismatch is the mean squared difference of the standardised maps over twice their
    variance (0 for a perfect repeat, about 1 for none). The period is the lag of least
    mismatch, averaged over the two axes (a square cell); half a cell of a perovskite,
    where a column of another kind sits, does not repeat it.

    Parameters
    ----------
    maps : numpy.ndarray
        ``(rows, cols, n)`` per-position maps, e.g. diffraction features.
    min_lag, max_lag : float
        Lags considered (at most half the scan; the central 64 × 64 positions are used).
    resolution : float
        Lag step of the search, in positions.
    max_mismatch : float
        ``None`` is returned when the best repeat is worse than this (no clear lattice).

    Returns
    -------
    float or None
        The period in positions.
    """
    from scipy.ndimage import shift as nd_shift

    f = np.asarray(maps, dtype=np.float64)
    if f.ndim != 3 or min(f.shape[:2]) < 2 * min_lag + 2:
        raise ValueError(f"maps must be (rows, cols, n) of at least {2 * min_lag + 2:g} "
                         f"positions per side, got {f.shape}")
    r0, c0 = (max(0, (n - 64) // 2) for n in f.shape[:2])
    f = f[r0 : r0 + 64, c0 : c0 + 64]
    f = (f - f.mean(axis=(0, 1))) / (f.std(axis=(0, 1)) + 1e-12)
    periods = []
    for axis in (0, 1):
        n = f.shape[axis]
        best, where = np.inf, None
        for lag in np.arange(min_lag, min(max_lag, n / 2 + 1), resolution):
            keep = n - int(np.ceil(lag)) - 1
            move = [0.0, 0.0, 0.0]
            move[axis] = -lag
            moved = np.take(nd_shift(f, move, order=1, mode="nearest"), range(keep), axis=axis)
            mismatch = float(((moved - np.take(f, range(keep), axis=axis)) ** 2).mean() / 2)
            if mismatch < best:
                best, where = mismatch, float(lag)
        if best > max_mismatch:
            return None
        periods.append(where)
    return float(np.mean(periods))
