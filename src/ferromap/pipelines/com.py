"""Centre-of-mass maps of a dataset in one streaming pass: shifts, magnitude, angle, virtual images.

This is the headless job behind ``ferromap com`` and the napari "Compute CoM maps" action.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ferromap.core.com import com_from_moments
from ferromap.core.descan import ORDERS
from ferromap.core.geometry import plan_detector, sample_patterns
from ferromap.core.rotation import RotationEstimate, estimate_rotation
from ferromap.core.shift import com_shift, magnitude_angle, rotate_vectors
from ferromap.core.stream import ProgressCallback, linear_statistics
from ferromap.core.virtual import annulus_mask
from ferromap.io.dataset import Dataset4D, check_dataset


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
    background: float = 0.0
    scan_step_nm: float | None = None

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
            "background_per_px": self.background,
            "n_without_com": int(np.isnan(self.magnitude).sum()),
            "mrad_per_px": self.mrad_per_px,
            "magnitude_units": "mrad" if self.mrad_per_px else "px",
        }


def compute_com_maps(
    dataset: Dataset4D,
    *,
    reference: Literal["mean", "plane", "quadratic"] = "mean",
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
    reference : {"mean", "plane", "quadratic"}
        Shift reference: global mean CoM, or the fitted descan surface
        (:func:`ferromap.core.descan.fit_descan`).
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
        See :func:`ferromap.core.stream.run`.

    Returns
    -------
    ComMaps
    """
    check_dataset(dataset)
    if reference not in ORDERS:
        raise ValueError(f"reference must be one of {', '.join(ORDERS)}, got {reference!r}")
    if rotation_deg != "auto" and not np.isfinite(float(rotation_deg)):
        raise ValueError(f"rotation_deg must be a number or 'auto', got {rotation_deg!r}")
    plan = plan_detector(sample_patterns(dataset.array(), read_one=dataset.pattern),
                         remove_hot_pixels=remove_hot_pixels)
    good = plan.weights()
    center, radius = plan.bf_centre, plan.bf_radius
    bf = annulus_mask(dataset.frame_shape, center, outer=max(radius, 1.0)) * good
    # ADF (everything beyond 1.2 r + 1) = all good pixels - the disk inside: the disk's band
    # of rows is read instead of one more pass over the whole frame
    inside = annulus_mask(dataset.frame_shape, center, outer=1.2 * radius + 1) * good
    stats = linear_statistics(dataset.array(scheduler), {"moments": plan.com_matrix(),
                                             "bf": bf.reshape(-1, 1),
                                             "inside": inside.reshape(-1, 1)},
                              threshold=threshold, progress=progress, cancel=cancel,
                              scheduler=scheduler)
    stats["adf"] = stats["moments"][..., :1].astype(np.float64) - stats.pop("inside")
    com = com_from_moments(stats["moments"], plan.background_moments())
    raw_shift = com_shift(com, reference=reference)
    estimate = None
    if rotation_deg == "auto":
        estimate = estimate_rotation(raw_shift, adf=stats["adf"][..., 0])
        rotation_deg, flip = estimate.rotation_deg, estimate.flip
    shift = rotate_vectors(raw_shift, float(rotation_deg), flip)
    if dataset.calibration.mrad_per_px:
        shift = shift * dataset.calibration.mrad_per_px
    magnitude, angle = magnitude_angle(shift)
    global_com = tuple(float(v) for v in np.nanmean(com.reshape(-1, 2), axis=0))
    return ComMaps(com, shift, magnitude, angle, stats["bf"][..., 0], stats["adf"][..., 0],
                   global_com, (center, radius), float(rotation_deg), bool(flip), reference,
                   plan.hot_pixels, estimate, dataset.calibration.mrad_per_px,
                   plan.background, dataset.calibration.scan_step_nm)
