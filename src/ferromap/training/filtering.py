"""Magnitude filtering (training only): keep patterns that carry polarization information.

The KNN paper kept patterns whose CoM-shift magnitude, measured from the global CoM and
min-max normalised over the scan, is above the scan mean. Positions between the columns
(small shift) carry little information. Computed from the per-position CoM map, never from
a dense copy of the data (the published code allocated 8.6 GB for this).
"""

from __future__ import annotations

import numpy as np


def magnitude_filter(magnitude: np.ndarray) -> np.ndarray:
    """Boolean mask of positions whose normalised CoM-shift magnitude exceeds the scan mean.

    Parameters
    ----------
    magnitude : numpy.ndarray
        CoM-shift magnitude map of one scan (NaN = no CoM, never kept).

    Returns
    -------
    numpy.ndarray
        Boolean mask of the same shape.
    """
    m = np.asarray(magnitude, dtype=np.float64)
    ok = np.isfinite(m)
    if not ok.any():
        return np.zeros(m.shape, bool)
    lo, hi = m[ok].min(), m[ok].max()
    norm = np.where(ok, (m - lo) / (hi - lo if hi > lo else 1.0), -np.inf)
    return norm > norm[ok].mean()


def filter_per_scan(magnitude: np.ndarray, scan_ids: np.ndarray) -> np.ndarray:
    """:func:`magnitude_filter` applied separately to each scan (``scan_ids`` labels them)."""
    keep = np.zeros(magnitude.shape, bool)
    for s in np.unique(scan_ids):
        sel = scan_ids == s
        keep[sel] = magnitude_filter(magnitude[sel])
    return keep
