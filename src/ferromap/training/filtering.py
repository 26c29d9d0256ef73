"""Magnitude filtering (training only): keep patterns that carry polarization information.

The KNN paper kept patterns whose CoM-shift magnitude, measured from the global CoM and
min-max normalised over the scan, is above the scan mean. Positions between the columns
(small shift) carry little information. Computed from the per-position CoM map, never from
a dense copy of the data (the published code allocated 8.6 GB for this).
"""

from __future__ import annotations

import numpy as np

from ferromap.core.shift import magnitude_filter

__all__ = ["filter_per_scan", "magnitude_filter"]


def filter_per_scan(magnitude: np.ndarray, scan_ids: np.ndarray) -> np.ndarray:
    """:func:`magnitude_filter` applied separately to each scan (``scan_ids`` labels them)."""
    keep = np.zeros(magnitude.shape, bool)
    for s in np.unique(scan_ids):
        sel = scan_ids == s
        keep[sel] = magnitude_filter(magnitude[sel])
    return keep
