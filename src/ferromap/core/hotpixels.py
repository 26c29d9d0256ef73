"""Find detector pixels that are bright in (almost) every frame whatever the specimen does."""

from __future__ import annotations

import numpy as np


def find_hot_pixels(
    frames: np.ndarray,
    *,
    factor: float = 5.0,
    excess: float = 3.0,
    min_fraction: float = 0.5,
) -> np.ndarray:
    """Boolean mask of hot pixels from a sample of frames.

    A pixel is an outlier in a frame when it exceeds ``factor`` times the median of its 3×3
    neighbourhood plus ``excess`` counts. It is hot when it is an outlier in at least
    ``min_fraction`` of the frames: real features move or fade across a scan, hot pixels stay.

    Parameters
    ----------
    frames : numpy.ndarray
        ``(n, k_rows, k_cols)`` sample of patterns (e.g. 64 spread over the scan).
    factor : float, optional
        Multiple of the local median.
    excess : float, optional
        Extra counts required above that multiple (protects dark, sparse regions).
    min_fraction : float, optional
        Fraction of frames in which the pixel must be an outlier.

    Returns
    -------
    numpy.ndarray
        Boolean ``(k_rows, k_cols)``.
    """
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim != 3 or len(frames) == 0:
        raise ValueError(f"expected a non-empty (n, k_rows, k_cols) stack, got {frames.shape}")
    count = np.zeros(frames.shape[1:], np.int32)
    for where, local in _band_medians(frames):
        band = frames[where]
        count[where[1:]] += (band > factor * local + excess).sum(axis=0, dtype=np.int32)
    return count >= min_fraction * len(frames)


def median3x3(frames: np.ndarray) -> np.ndarray:
    """Median of every pixel's 3×3 neighbourhood in each frame, edges repeated.

    Exact, and about ten times faster than a general rank filter: each column of three is
    sorted once, and the median of the nine is the median of the largest of the three column
    minima, the median of the column medians and the smallest of the column maxima.

    Parameters
    ----------
    frames : numpy.ndarray
        ``(n, k_rows, k_cols)``.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype.
    """
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise ValueError(f"expected an (n, k_rows, k_cols) stack, got shape {frames.shape}")
    out = np.empty_like(frames)
    for where, local in _band_medians(frames):
        out[where] = local
    return out


def _band_medians(frames: np.ndarray, elements: int = 2**14):
    """``(where, median)`` over bands of rows small enough that every temporary stays in
    cache and below the allocator's mmap threshold (which would page-fault afresh each time)."""
    padded = np.pad(frames, ((0, 0), (1, 1), (1, 1)), mode="edge")
    n, rows, cols = frames.shape
    frames_per, rows_per = max(1, elements // max(1, rows * cols)), max(1, elements // cols)
    for f in range(0, n, frames_per):
        for r in range(0, rows, rows_per):
            stop = min(rows, r + rows_per)
            yield ((slice(f, f + frames_per), slice(r, stop), slice(None)),
                   _median3x3(padded[f : f + frames_per, r : stop + 2]))


def _median3x3(padded: np.ndarray) -> np.ndarray:
    """The 3×3 median of the interior of an edge-padded ``(n, rows + 2, cols + 2)`` stack."""
    low, mid, high = _sort3(padded[:, :-2], padded[:, 1:-1], padded[:, 2:])
    left, centre, right = slice(None, -2), slice(1, -1), slice(2, None)
    top = np.maximum(np.maximum(low[..., left], low[..., centre]), low[..., right])
    middle = _median3(mid[..., left], mid[..., centre], mid[..., right])
    bottom = np.minimum(np.minimum(high[..., left], high[..., centre]), high[..., right])
    return _median3(top, middle, bottom)


def _sort3(a: np.ndarray, b: np.ndarray, c: np.ndarray):
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return np.minimum(lo, c), np.minimum(hi, np.maximum(lo, c)), np.maximum(hi, c)


def _median3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))


def repair_index(hot: np.ndarray) -> np.ndarray:
    """Flat pixel index that reads every pixel from itself, and a hot pixel from its nearest
    non-hot neighbour (for :func:`ferromap.core.crop.extract_crops`).

    Parameters
    ----------
    hot : numpy.ndarray
        ``(k_rows, k_cols)`` boolean hot-pixel mask.

    Returns
    -------
    numpy.ndarray
        ``(k_rows, k_cols)`` intp indices into the flattened pattern.
    """
    from scipy.ndimage import distance_transform_edt

    hot = np.asarray(hot, dtype=bool)
    if hot.ndim != 2:
        raise ValueError(f"hot must be a 2-D mask, got shape {hot.shape}")
    if not hot.any():
        return np.arange(hot.size).reshape(hot.shape)
    if hot.all():
        raise ValueError("every detector pixel is marked hot")
    _, (rows, cols) = distance_transform_edt(hot, return_indices=True)
    return (rows * hot.shape[1] + cols).astype(np.intp)
