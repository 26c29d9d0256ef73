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
