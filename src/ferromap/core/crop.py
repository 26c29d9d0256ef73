"""Crop a square window around the dataset's global CoM, and min-max normalise.

The window starts at ``round(global_com - size/2)``, clamped to the frame, so the direct beam
sits at the window centre. (The published ``crop_around_corrected_com`` mirrored the centre
about the frame centre, putting the beam off by twice its offset; see CONVENTIONS.md.)
"""

from __future__ import annotations

import numpy as np


def crop_origin(
    global_com: tuple[float, float], size: int, frame_shape: tuple[int, int]
) -> tuple[int, int]:
    """Top-left corner of a ``size × size`` window centred on ``global_com``.

    Parameters
    ----------
    global_com : tuple of float
        ``(row, col)`` of the dataset's mean CoM, in detector pixels.
    size : int
        Window side in pixels.
    frame_shape : tuple of int
        ``(k_rows, k_cols)``.

    Returns
    -------
    tuple of int
        ``(row0, col0)``.
    """
    if size > min(frame_shape):
        raise ValueError(f"crop size {size} is larger than the {frame_shape} patterns")
    if not np.all(np.isfinite(global_com)):
        raise ValueError("the global CoM is not finite (empty dataset?)")
    return tuple(
        int(np.clip(np.round(g - size / 2), 0, n - size)) for g, n in zip(global_com, frame_shape)
    )


def crop_patterns(block: np.ndarray, origin: tuple[int, int], size: int) -> np.ndarray:
    """Cut the ``size × size`` window at ``origin`` from ``(..., k_row, k_col)`` patterns."""
    r0, c0 = origin
    return block[..., r0 : r0 + size, c0 : c0 + size]


def minmax_normalize(block: np.ndarray) -> np.ndarray:
    """Scale each pattern of ``(..., k_row, k_col)`` to [0, 1] in float32.

    Constant patterns become zeros; non-finite pixels become 0 before scaling.
    """
    x = np.nan_to_num(np.asarray(block, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    lo = x.min(axis=(-2, -1), keepdims=True)
    span = x.max(axis=(-2, -1), keepdims=True) - lo
    return np.where(span > 0, (x - lo) / np.where(span > 0, span, 1), np.float32(0))


def preprocess_crops(block: np.ndarray, origin: tuple[int, int], window: int, size: int) -> np.ndarray:
    """The model input: crop a ``window`` at ``origin``, resample to ``size``, min-max normalise.

    Parameters
    ----------
    block : numpy.ndarray
        ``(..., k_row, k_col)`` patterns.
    origin : tuple of int
        From :func:`crop_origin` with the window size.
    window : int
        Source window in pixels (:func:`ferromap.core.resample.window_size`).
    size : int
        Model crop size.

    Returns
    -------
    numpy.ndarray
        ``(..., size, size)`` float32 in [0, 1].
    """
    from ferromap.core.resample import resample_patterns

    return minmax_normalize(resample_patterns(crop_patterns(block, origin, window), size))
