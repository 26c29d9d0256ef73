"""Find detector pixels that are bright in (almost) every frame whatever the specimen does."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter


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
    local = median_filter(frames, size=(1, 3, 3), mode="nearest")
    outlier = frames > factor * local + excess
    return outlier.mean(axis=0) >= min_fraction


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
