"""Virtual detectors (bright field, annular dark field) and bright-field disk finding."""

from __future__ import annotations

import threading

import numpy as np

from ferromap.core.stream import ProgressCallback, linear_statistics


def annulus_mask(
    frame_shape: tuple[int, int],
    center: tuple[float, float],
    outer: float,
    inner: float = 0.0,
) -> np.ndarray:
    """Boolean mask of pixels with ``inner <= distance(center) < outer``.

    Parameters
    ----------
    frame_shape : tuple of int
        ``(k_rows, k_cols)``.
    center : tuple of float
        ``(row, col)`` in pixels.
    outer : float
        Outer radius in pixels (a disk when ``inner`` is 0).
    inner : float, optional
        Inner radius in pixels.

    Returns
    -------
    numpy.ndarray
        Boolean ``(k_rows, k_cols)``.
    """
    if outer <= inner:
        raise ValueError(f"outer radius {outer} must exceed inner radius {inner}")
    rr, cc = np.mgrid[0 : frame_shape[0], 0 : frame_shape[1]]
    dist = np.hypot(rr - center[0], cc - center[1])
    return (dist >= inner) & (dist < outer)


def estimate_bf_disk(pattern: np.ndarray, fraction: float = 0.5) -> tuple[tuple[float, float], float]:
    """Centre and radius of the bright-field disk of a (mean) pattern.

    Pixels above ``fraction`` of the maximum form the disk; its centroid is the centre and
    ``sqrt(area / pi)`` the radius.

    Parameters
    ----------
    pattern : numpy.ndarray
        ``(k_rows, k_cols)``, typically the mean of many patterns.
    fraction : float, optional
        Threshold as a fraction of the maximum.

    Returns
    -------
    center : tuple of float
        ``(row, col)`` in pixels.
    radius : float
        In pixels.
    """
    p = np.nan_to_num(np.asarray(pattern, dtype=np.float64))
    if p.max() <= 0:
        raise ValueError("the pattern has no intensity: cannot find the bright-field disk")
    disk = p >= fraction * p.max()
    rr, cc = np.nonzero(disk)
    return (float(rr.mean()), float(cc.mean())), float(np.sqrt(disk.sum() / np.pi))


def virtual_image(
    data,
    mask: np.ndarray,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scheduler=None,
) -> np.ndarray:
    """Sum of each pattern over a detector mask (virtual BF, ADF, ...).

    Parameters
    ----------
    data : array_like or dask.array.Array
        ``(scan_row, scan_col, k_row, k_col)``.
    mask : numpy.ndarray
        ``(k_row, k_col)`` boolean or weights.
    progress, cancel, scheduler
        See :func:`ferromap.core.stream.compute`.

    Returns
    -------
    numpy.ndarray
        ``(scan_row, scan_col)`` float32.
    """
    matrix = np.asarray(mask, dtype=np.float64).reshape(-1, 1)
    return linear_statistics(data, matrix, progress=progress, cancel=cancel,
                             scheduler=scheduler)[..., 0]
