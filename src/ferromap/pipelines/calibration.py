"""The calibration guard: a model may only read data whose angular sampling is known.

A model reads a window of fixed angles (64 px at 3.17 mrad/px: ±102 mrad for conv-proto).
Without ``mrad_per_px`` the window could cover any angles, and a map made that way looks
plausible and means nothing. So:

* when the file gives no ``mrad_per_px``, it is **estimated** from the bright-field disk:
  ``mrad_per_px = semi-angle / disk radius (px)``, with the convergence semi-angle from the
  file's metadata or, failing that, the user's value (24 mrad by default, the KNN papers'
  probe). The estimate is shown for the user to confirm and recorded in ``summary.json``;
* when the window the model needs does not fit the patterns (the detector covers too few
  angles, or too coarsely), the data is **refused** with one clear message.

The CLI, the napari dock and the menu command all go through :func:`resolve_calibration` and
:func:`model_window`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ferromap.core.crop import overhang_px
from ferromap.core.geometry import DetectorPlan
from ferromap.core.resample import window_span
from ferromap.errors import FerromapError
from ferromap.io.dataset import Dataset4D

DEFAULT_SEMIANGLE_MRAD = 24.0
#: A model crop may not magnify the detector more than this (each crop pixel would be
#: interpolated from less than half a detector pixel).
MAX_UPSAMPLING = 2.0


@dataclass(frozen=True)
class CalibrationEstimate:
    """``mrad_per_px`` estimated from the bright-field disk."""

    mrad_per_px: float
    bf_radius_px: float
    semiangle_mrad: float
    semiangle_source: str  # "file", "user" or "default"

    def message(self) -> str:
        """What the estimate rests on, for the user to check."""
        origin = {"file": "from the file", "user": "as given",
                  "default": "the default; set it if your probe differs"}[self.semiangle_source]
        return (f"mrad/px is not in the file: estimated {self.mrad_per_px:.4g} mrad/px from "
                f"the bright-field disk radius ({self.bf_radius_px:.2f} px) and a "
                f"{self.semiangle_mrad:g} mrad convergence semi-angle ({origin})")

    def to_dict(self) -> dict:
        """JSON form (``summary.json``)."""
        return {"mrad_per_px": self.mrad_per_px, "bf_radius_px": round(self.bf_radius_px, 4),
                "semiangle_mrad": self.semiangle_mrad, "semiangle_source": self.semiangle_source}


def estimate_mrad_per_px(bf_radius_px: float, semiangle_mrad: float) -> float:
    """``semiangle / radius``: the sampling at which the bright-field disk has that radius.

    Examples
    --------
    >>> round(estimate_mrad_per_px(7.56, 24.0), 3)
    3.175
    """
    if not bf_radius_px > 0 or not semiangle_mrad > 0:
        raise ValueError("bf_radius_px and semiangle_mrad must be positive")
    return float(semiangle_mrad / bf_radius_px)


def resolve_calibration(
    dataset: Dataset4D, plan: DetectorPlan, semiangle_mrad: float | None = None
) -> tuple[Dataset4D, CalibrationEstimate | None]:
    """The dataset with a known ``mrad_per_px``, estimating it from the disk if needed.

    Parameters
    ----------
    dataset : Dataset4D
        The data; a known ``mrad_per_px`` (from the file or the user) is kept.
    plan : DetectorPlan
        Its bright-field disk (:func:`ferromap.core.geometry.plan_detector`).
    semiangle_mrad : float, optional
        The user's convergence semi-angle; else the file's, else 24 mrad.

    Returns
    -------
    dataset : Dataset4D
        With ``mrad_per_px`` set (``mrad_per_px_source="estimated"`` when estimated).
    estimate : CalibrationEstimate or None
        ``None`` when the sampling was known.
    """
    cal = dataset.calibration
    if cal.mrad_per_px:
        return dataset, None
    if semiangle_mrad:
        semi, source = float(semiangle_mrad), "user"
    elif cal.semiangle_mrad:
        semi, source = float(cal.semiangle_mrad), "file"
    else:
        semi, source = DEFAULT_SEMIANGLE_MRAD, "default"
    if plan.bf_radius < 2:
        raise FerromapError(f"mrad/px is unknown and the bright-field disk ({plan.bf_radius:.1f} "
                            "px) is too small to estimate it from",
                            cli_hint="pass --mrad-per-px", gui_hint="enter the mrad / px")
    est = CalibrationEstimate(estimate_mrad_per_px(plan.bf_radius, semi), plan.bf_radius, semi,
                              source)
    return dataset.with_calibration(mrad_per_px=est.mrad_per_px, semiangle_mrad=semi,
                                    mrad_per_px_source="estimated"), est


def model_window(dataset: Dataset4D, crop_size: int, model_mrad_per_px: float | None,
                 model_name: str = "the model") -> float:
    """Detector pixels the model's crop covers in this dataset, or a refusal.

    Parameters
    ----------
    dataset : Dataset4D
        Calibrated data (:func:`resolve_calibration`).
    crop_size : int
        The model's crop side.
    model_mrad_per_px : float or None
        The model's sampling (``None``: the model takes any data as it is).
    model_name : str
        For the message.

    Returns
    -------
    float
        The span in detector pixels.

    Raises
    ------
    FerromapError
        The patterns cover fewer angles than the model reads, or so few pixels that the
        crop would be interpolated more than :data:`MAX_UPSAMPLING` times.
    """
    data_mrad = dataset.calibration.mrad_per_px
    span = window_span(crop_size, data_mrad, model_mrad_per_px)
    how = " (estimated)" if dataset.calibration.mrad_per_px_source == "estimated" else ""
    rows, cols = dataset.frame_shape
    if span > min(rows, cols) + 2 * overhang_px(span):
        half = span * (data_mrad or 1) / 2
        have = min(rows, cols) * (data_mrad or 1) / 2
        raise FerromapError(
            f"{model_name} reads ±{half:.0f} mrad ({crop_size} px at {model_mrad_per_px:.3g} "
            f"mrad/px), but these {rows}×{cols} patterns at {data_mrad:.3g} mrad/px{how} cover only "
            f"±{have:.0f} mrad: the camera length was too long for this model (or mrad/px is wrong)",
            cli_hint="check --mrad-per-px", gui_hint="check the mrad / px")
    if span * MAX_UPSAMPLING < crop_size:
        raise FerromapError(
            f"{model_name} needs {model_mrad_per_px:.3g} mrad/px; at {data_mrad:.3g} mrad/px{how} "
            f"its window is only {span:.1f} detector pixels (the camera length was too short, or "
            f"mrad/px is wrong)", cli_hint="check --mrad-per-px", gui_hint="check the mrad / px")
    return span


@dataclass(frozen=True)
class ScanStepEstimate:
    """The scan step estimated from the lattice period of the scan's feature maps."""

    step_A: float
    period_px: float
    lattice_A: float

    def message(self) -> str:
        """What the estimate rests on, for the user to check."""
        return (f"scan step unknown: estimated {self.step_A / 10:.4g} nm from the lattice "
                f"period ({self.period_px:.2f} positions per {self.lattice_A:g} Å cell)")

    def to_dict(self) -> dict:
        """JSON form (``summary.json``)."""
        return {"scan_step_nm": round(self.step_A / 10, 6), "period_px": round(self.period_px, 3),
                "lattice_A": self.lattice_A}


def resolve_scan_step(dataset: Dataset4D, features, step_range_A: tuple[float, float],
                      lattice_A: float, model_name: str = "the model"
                      ) -> tuple[float, ScanStepEstimate | None]:
    """The scan step in Å a scan-context model reads the data at, or a refusal.

    A scan-context model reads how the patterns change over a unit cell, so it needs the
    distance between positions: the file's or the user's. Without one, it is **estimated**
    from the lattice period of the feature maps (:func:`ferromap.core.periodic.repeat_period`)
    and the material's cell, shown for the user to confirm and recorded in ``summary.json``,
    as an estimated ``mrad_per_px`` is.

    Parameters
    ----------
    dataset : Dataset4D
        The data, with its ``scan_step_nm`` when known.
    features : numpy.ndarray
        ``(rows, cols, K)`` feature maps, for the estimate.
    step_range_A : tuple of float
        Steps the model can read.
    lattice_A : float
        The material's (pseudo-cubic) cell.
    model_name : str
        For the messages.

    Returns
    -------
    step_A : float
    estimate : ScanStepEstimate or None
        ``None`` when the step was known.

    Raises
    ------
    FerromapError
        No step and no lattice to estimate it from, a step outside ``step_range_A``, or a
        scan that spans less than one cell along an axis.
    """
    from ferromap.core.periodic import repeat_period

    step_nm, estimate = dataset.calibration.scan_step_nm, None
    if step_nm:
        step = 10.0 * float(step_nm)
    else:
        period = repeat_period(features) if min(features.shape[:2]) >= 4 else None
        if period is None:
            raise FerromapError(
                f"{model_name} reads atomic-resolution scans, but the scan step is not in the "
                "file and no lattice repeats in the scan to estimate it from",
                cli_hint="pass --scan-step-nm, or use --model conv-proto (per pattern)",
                gui_hint="enter the scan step (nm), or choose the per-pattern model conv-proto")
        estimate = ScanStepEstimate(lattice_A / period, period, lattice_A)
        step = estimate.step_A
    check_scan_step(features.shape[:2], step, step_range_A, lattice_A, model_name,
                    estimated=estimate is not None)
    return step, estimate


def check_scan_step(scan_shape: tuple[int, int], step_A: float | None,
                    step_range_A: tuple[float, float], lattice_A: float,
                    model_name: str = "the model", estimated: bool = False) -> None:
    """Refuse a scan a scan-context model cannot read: one that spans less than one cell
    along an axis (no lattice to read), or a step outside ``step_range_A``. With the step
    unknown (``None``), only a scan too short to hold a cell even at the largest step is
    refused (before any pass over the data).

    Parameters
    ----------
    scan_shape : tuple of int
        Scan positions ``(rows, cols)``.
    step_A : float or None
        The scan step in Å, if known.
    step_range_A : tuple of float
        Steps the model can read.
    lattice_A : float
        The material's (pseudo-cubic) cell.
    model_name : str
        For the messages.
    estimated : bool
        Whether the step was estimated (said in the message).

    Raises
    ------
    FerromapError
    """
    lo, hi = step_range_A
    if len(scan_shape) != 2 or not (step_A is None or step_A > 0):
        raise ValueError(f"scan_shape must be (rows, cols) and step_A > 0, got {scan_shape}, "
                         f"{step_A}")
    span = (min(scan_shape) - 1) * (hi if step_A is None else step_A)
    if span < lattice_A:
        spans = (f"spans only {span:.3g} Å" if step_A is not None else
                 f"has {min(scan_shape)} positions (at most {span:.3g} Å at {hi:g} Å steps)")
        raise FerromapError(
            f"{model_name} reads the lattice around each position, but this scan {spans} "
            f"along one axis, less than one {lattice_A:g} Å cell",
            cli_hint="use --model conv-proto (per pattern)",
            gui_hint="choose the per-pattern model conv-proto")
    if step_A is None:
        return
    if not lo <= step_A <= hi:
        how = " (estimated)" if estimated else ""
        raise FerromapError(
            f"{model_name} reads atomic-resolution scans with steps of {lo:g}–{hi:g} Å; this "
            f"scan's step is {step_A:.3g} Å{how}",
            cli_hint="check --scan-step-nm, or use --model conv-proto (per pattern)",
            gui_hint="check the scan step, or choose the per-pattern model conv-proto")
