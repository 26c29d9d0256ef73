"""Centre of mass of diffraction patterns, written as a matrix product.

``com_r = Σ r·w·I / Σ w·I`` and ``com_c = Σ c·w·I / Σ w·I`` with an optional weight/mask
``w`` (disk, annulus, hot pixels removed). Positions are in detector pixels, ``(k_row,
k_col)``, with row 0 at the top. A pattern with no (or non-finite) weighted intensity has no
CoM and gets NaN.
"""

from __future__ import annotations

import threading

import numpy as np

from ferromap.core.stream import ProgressCallback, check_4d, linear_statistics


def com_matrix(frame_shape: tuple[int, int], weights: np.ndarray | None = None) -> np.ndarray:
    """Detector matrix ``(k_row*k_col, 3)`` whose columns give ``[Σ wI, Σ r wI, Σ c wI]``.

    Parameters
    ----------
    frame_shape : tuple of int
        ``(k_rows, k_cols)``.
    weights : numpy.ndarray, optional
        ``(k_rows, k_cols)`` weights or boolean mask; 1 everywhere by default.

    Returns
    -------
    numpy.ndarray
        float64 matrix, for :func:`~ferromap.core.stream.linear_statistics`.
    """
    kr, kc = frame_shape
    w = np.ones(frame_shape) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != tuple(frame_shape):
        raise ValueError(f"weights have shape {w.shape}, the patterns {tuple(frame_shape)}")
    rr, cc = np.mgrid[0:kr, 0:kc]
    return np.stack([w, rr * w, cc * w], axis=-1).reshape(kr * kc, 3)


def com_from_moments(moments: np.ndarray, background: np.ndarray | None = None) -> np.ndarray:
    """Turn ``[..., (Σ I, Σ r I, Σ c I)]`` into ``[..., (com_r, com_c)]``; NaN where Σ I ≤ 0.

    Parameters
    ----------
    moments : numpy.ndarray
        Last axis of length 3.
    background : numpy.ndarray, optional
        ``(3,)`` moments of a constant background (``level * com_matrix(...).sum(0)``),
        subtracted first: a dark-count pedestal would pull every CoM toward the frame centre.

    Returns
    -------
    numpy.ndarray
        Last axis of length 2, float64.
    """
    moments = np.asarray(moments, dtype=np.float64)
    if moments.shape[-1] != 3:
        raise ValueError(f"moments must end in an axis of length 3, got shape {moments.shape}")
    if background is not None:
        moments = moments - np.asarray(background, dtype=np.float64)
    total = moments[..., 0]
    valid = np.isfinite(total) & (total > 0)
    safe = np.where(valid, total, 1.0)
    com = moments[..., 1:3] / safe[..., None]
    com[~valid] = np.nan
    return com


def center_of_mass(
    data,
    *,
    mask: np.ndarray | None = None,
    threshold: float | None = None,
    hot_pixels: np.ndarray | None = None,
    background: float = 0.0,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scheduler=None,
    xp=None,
) -> np.ndarray:
    """Centre of mass of every pattern, streamed chunk by chunk.

    Parameters
    ----------
    data : array_like or dask.array.Array
        ``(scan_row, scan_col, k_row, k_col)``.
    mask : numpy.ndarray, optional
        ``(k_row, k_col)`` boolean or weights, e.g. a disk or an annulus
        (:func:`ferromap.core.virtual.annulus_mask`).
    threshold : float, optional
        Pixels below it are ignored.
    hot_pixels : numpy.ndarray, optional
        ``(k_row, k_col)`` boolean mask of pixels to ignore
        (:func:`ferromap.core.hotpixels.find_hot_pixels`).
    background : float
        Constant dark level per pixel, subtracted before the centre is taken
        (:func:`ferromap.core.background.estimate_background`).
    progress, cancel, scheduler
        See :func:`ferromap.core.stream.run`.
    xp : optional
        Array namespace of the sums (:class:`ferromap.core.stream.LinearKernel`), e.g.
        ``ferromap.models.device.TorchNamespace("cuda")``; numpy by default.

    Returns
    -------
    numpy.ndarray
        ``(scan_row, scan_col, 2)`` float64 ``(com_row, com_col)`` in detector pixels;
        NaN for patterns with no intensity.

    Examples
    --------
    >>> import numpy as np
    >>> data = np.zeros((1, 2, 5, 5))
    >>> data[0, 0, 1, 3] = 1.0  # all intensity at row 1, col 3
    >>> center_of_mass(data)
    array([[[ 1.,  3.],
            [nan, nan]]])
    """
    check_4d(data, "data")
    frame_shape = tuple(data.shape[2:])
    weights = np.ones(frame_shape) if mask is None else np.asarray(mask, dtype=np.float64)
    if weights.shape != frame_shape:
        raise ValueError(f"mask has shape {weights.shape}; the patterns are {frame_shape}")
    if hot_pixels is not None:
        if np.shape(hot_pixels) != frame_shape:
            raise ValueError(f"hot_pixels has shape {np.shape(hot_pixels)}; the patterns are "
                             f"{frame_shape}")
        weights = np.where(hot_pixels, 0.0, weights)
    matrix = com_matrix(frame_shape, weights)
    moments = linear_statistics(data, {"moments": matrix}, threshold=threshold,
                                progress=progress, cancel=cancel, scheduler=scheduler,
                                xp=xp)["moments"]
    return com_from_moments(moments, background * matrix.sum(axis=0))
