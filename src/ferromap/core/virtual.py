"""Virtual detectors (bright field, annular dark field) and bright-field disk finding."""

from __future__ import annotations

import threading

import numpy as np

from ferromap.core.stream import ProgressCallback, check_4d, is_dask, linear_statistics


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

    Pixels above ``fraction`` of the maximum form the disk; its centroid is the centre. The
    radius is where the radial profile about that centre falls below ``fraction`` of the
    disk's plateau (the median profile inside 60 % of the first estimate,
    ``sqrt(area / pi)``), interpolated between profile samples: an area estimate alone reads
    a disk whose interior is uneven (Bragg and Kikuchi contrast) a few percent small.

    Parameters
    ----------
    pattern : numpy.ndarray
        ``(k_rows, k_cols)``, typically the mean of many patterns.
    fraction : float, optional
        Threshold as a fraction of the maximum and of the plateau.

    Returns
    -------
    center : tuple of float
        ``(row, col)`` in pixels.
    radius : float
        In pixels.

    Examples
    --------
    >>> import numpy as np
    >>> r, c = np.mgrid[0:64, 0:64]
    >>> disk = (np.hypot(r - 30, c - 33) < 10).astype(float)
    >>> (centre, radius) = estimate_bf_disk(disk)
    >>> [round(v, 1) for v in centre], round(radius, 1)
    ([30.0, 33.0], 10.0)
    """
    p = np.nan_to_num(np.asarray(pattern, dtype=np.float64))
    if p.ndim != 2:
        raise ValueError(f"pattern must be 2-D, got shape {p.shape}")
    if p.max() <= 0:
        raise ValueError("the pattern has no intensity: cannot find the bright-field disk")
    disk = p >= fraction * p.max()
    rr, cc = np.nonzero(disk)
    centre = (float(rr.mean()), float(cc.mean()))
    first = float(np.sqrt(disk.sum() / np.pi))
    return centre, _profile_radius(p, centre, first, fraction)


def _profile_radius(p: np.ndarray, centre, first: float, fraction: float) -> float:
    rr, cc = np.mgrid[0 : p.shape[0], 0 : p.shape[1]]
    d = np.hypot(rr - centre[0], cc - centre[1]).ravel()
    step = 0.25
    idx = np.floor(d / step).astype(int)
    counts = np.bincount(idx)
    profile = np.bincount(idx, p.ravel()) / np.maximum(counts, 1)
    radii = (np.arange(len(profile)) + 0.5) * step
    good = counts > 0
    radii, profile = radii[good], profile[good]
    plateau = np.median(profile[radii < 0.6 * first]) if (radii < 0.6 * first).any() else p.max()
    below = np.flatnonzero((profile < fraction * plateau) & (radii > 0.3 * first))
    if len(below) == 0 or below[0] == 0:
        return first
    i = below[0]
    (r0, r1), (v0, v1) = radii[i - 1 : i + 1], profile[i - 1 : i + 1]
    target = fraction * plateau
    return float(r0 + (v0 - target) / (v0 - v1) * (r1 - r0)) if v0 != v1 else float(r1)


def virtual_image(
    data,
    mask: np.ndarray,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scheduler=None,
) -> np.ndarray:
    """Sum of each pattern over a detector mask (virtual BF, ADF, ...).

    Only the mask's bounding box of detector pixels is read.

    Parameters
    ----------
    data : array_like or dask.array.Array
        ``(scan_row, scan_col, k_row, k_col)``.
    mask : numpy.ndarray
        ``(k_row, k_col)`` boolean or weights.
    progress, cancel, scheduler
        See :func:`ferromap.core.stream.run`.

    Returns
    -------
    numpy.ndarray
        ``(scan_row, scan_col)`` float32.
    """
    check_4d(data, "data")
    if np.shape(mask) != tuple(data.shape[2:]):
        raise ValueError(f"mask has shape {np.shape(mask)}; the patterns are "
                         f"{tuple(data.shape[2:])}")
    rows, cols = _support(np.asarray(mask), data)
    matrix = np.asarray(mask, dtype=np.float64)[rows, cols].reshape(-1, 1)
    return linear_statistics(data[:, :, rows, cols], {"image": matrix}, progress=progress,
                             cancel=cancel, scheduler=scheduler)["image"][..., 0]


def _support(mask: np.ndarray, data) -> tuple[slice, slice]:
    """The bounding box of the mask's non-zero pixels: only those detector rows and columns
    are read (a bright-field disk is a small part of the frame). Only where slicing is lazy
    (numpy views, dask); h5py or zarr would read the slice at once."""
    if not (isinstance(data, np.ndarray) or is_dask(data)):
        return slice(None), slice(None)
    nz_rows, nz_cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(nz_rows):
        return slice(0, 1), slice(0, 1)  # an empty detector: zeros, from one pixel
    return slice(nz_rows[0], nz_rows[-1] + 1), slice(nz_cols[0], nz_cols[-1] + 1)
