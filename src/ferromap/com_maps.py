"""Centre-of-mass maps of a dataset in one streaming pass: shifts, magnitude, angle, virtual images.

This is the headless job behind ``ferromap com`` and the napari "Compute CoM maps" action.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ferromap.core.com import com_from_moments, com_matrix
from ferromap.core.hotpixels import find_hot_pixels
from ferromap.core.rotation import RotationEstimate, estimate_rotation
from ferromap.core.shift import com_shift, magnitude_angle, rotate_vectors
from ferromap.core.stream import ProgressCallback, linear_statistics
from ferromap.core.virtual import annulus_mask, estimate_bf_disk
from ferromap.io.dataset import Dataset4D


@dataclass
class ComMaps:
    """Per-position results, all ``(scan_row, scan_col[, 2])``; shifts in detector pixels."""

    com: np.ndarray
    shift: np.ndarray
    magnitude: np.ndarray
    angle_deg: np.ndarray
    virtual_bf: np.ndarray
    virtual_adf: np.ndarray
    global_com: tuple[float, float]
    bf_disk: tuple[tuple[float, float], float]
    rotation_deg: float
    flip: bool
    reference: str
    hot_pixels: np.ndarray
    rotation_estimate: RotationEstimate | None = None
    mrad_per_px: float | None = None

    def summary(self) -> dict:
        """JSON-friendly description of the settings and global results."""
        (r, c), radius = self.bf_disk
        return {
            "global_com_px": list(self.global_com),
            "bf_disk": {"center_px": [r, c], "radius_px": radius},
            "rotation_deg": self.rotation_deg,
            "flip": self.flip,
            "reference": self.reference,
            "n_hot_pixels": int(self.hot_pixels.sum()),
            "n_without_com": int(np.isnan(self.magnitude).sum()),
            "mrad_per_px": self.mrad_per_px,
            "magnitude_units": "mrad" if self.mrad_per_px else "px",
        }


def sample_patterns(dataset: Dataset4D, n: int = 64) -> np.ndarray:
    """Read about ``n`` patterns spread evenly over the scan, as float32 ``(n, k_row, k_col)``."""
    flat = np.unique(np.linspace(0, dataset.n_patterns - 1, min(n, dataset.n_patterns)).astype(int))
    rows, cols = np.divmod(flat, dataset.scan_shape[1])
    return np.stack([dataset.pattern(r, c) for r, c in zip(rows, cols)]).astype(np.float32)


def compute_com_maps(
    dataset: Dataset4D,
    *,
    reference: Literal["mean", "plane"] = "mean",
    rotation_deg: float | Literal["auto"] = 0.0,
    flip: bool = False,
    remove_hot_pixels: bool = True,
    threshold: float | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scheduler=None,
) -> ComMaps:
    """CoM, shift, magnitude, angle, virtual BF and ADF of a dataset in one pass.

    Parameters
    ----------
    dataset : Dataset4D
        The lazy dataset; it is streamed, never loaded whole.
    reference : {"mean", "plane"}
        Shift reference: global mean CoM or fitted descan plane.
    rotation_deg : float or "auto"
        Scan-to-detector rotation (counter-clockwise, degrees), or ``"auto"`` to estimate it
        by minimising the curl (the ADF image resolves the 180° ambiguity).
    flip : bool
        Mirror the detector rows before rotating (ignored with ``"auto"``, which estimates it).
    remove_hot_pixels : bool
        Find hot pixels in a sample of patterns and leave them out of every sum.
    threshold : float, optional
        Ignore pixels below this value in the CoM.
    progress, cancel, scheduler
        See :func:`ferromap.core.stream.compute`.

    Returns
    -------
    ComMaps
    """
    sample = sample_patterns(dataset)
    hot = find_hot_pixels(sample) if remove_hot_pixels else np.zeros(dataset.frame_shape, bool)
    good = np.where(hot, 0.0, 1.0)
    mean_pattern = np.where(hot, 0.0, np.nanmean(sample, axis=0))
    center, radius = estimate_bf_disk(mean_pattern)
    bf = annulus_mask(dataset.frame_shape, center, outer=max(radius, 1.0)) * good
    adf = annulus_mask(dataset.frame_shape, center, outer=np.inf, inner=1.2 * radius + 1) * good
    matrix = np.concatenate([com_matrix(dataset.frame_shape, good),
                             bf.reshape(-1, 1), adf.reshape(-1, 1)], axis=1)
    stats = linear_statistics(dataset.data, matrix, threshold=threshold, progress=progress,
                              cancel=cancel, scheduler=scheduler)
    com = com_from_moments(stats[..., :3])
    raw_shift = com_shift(com, reference=reference)
    estimate = None
    if rotation_deg == "auto":
        estimate = estimate_rotation(raw_shift, adf=stats[..., 4])
        rotation_deg, flip = estimate.rotation_deg, estimate.flip
    shift = rotate_vectors(raw_shift, float(rotation_deg), flip)
    if dataset.calibration.mrad_per_px:
        shift = shift * dataset.calibration.mrad_per_px
    magnitude, angle = magnitude_angle(shift)
    global_com = tuple(float(v) for v in np.nanmean(com.reshape(-1, 2), axis=0))
    return ComMaps(com, shift, magnitude, angle, stats[..., 3], stats[..., 4], global_com,
                   (center, radius), float(rotation_deg), bool(flip), reference, hot, estimate,
                   dataset.calibration.mrad_per_px)
