"""Polarization maps of a lazy dataset, in bounded memory: what ``ferromap predict``, the napari
dock and the plugin-menu command all run.

1. A sample of patterns: hot pixels, bright-field disk, background; the calibration guard
   (:mod:`ferromap.pipelines.calibration`) estimates an unknown ``mrad_per_px`` and refuses
   data the model cannot read.
2. Pass 1 streams the CoM; the descan surface fitted to it is the beam centre at every
   position (:mod:`ferromap.core.geometry`).
3. Pass 2 streams blocks of patterns: crop each around its own beam centre, resample to the
   model's sampling, then either min-max normalise and predict each crop (per-pattern
   models), or keep its ring-harmonic features, which a scan-context model reads over the
   neighbourhood of every position (:mod:`ferromap.models.context`). Only per-position
   results are kept.
4. Optionally, two more passes measure the lattice-periodic residual (anomalies).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ferromap.classes import NOT_CLASSIFIED, ClassSet
from ferromap.core.geometry import CropGeometry, geometry_from_moments, plan_detector, sample_patterns
from ferromap.core.stream import (
    RUN_PATTERNS,
    Buffer,
    Kernel,
    ProgressCallback,
    Where,
    linear_statistics,
    run,
    runs,
)
from ferromap.errors import FerromapError
from ferromap.io.dataset import Dataset4D, check_dataset
from ferromap.pipelines.anomaly import AnomalySettings, anomaly_score, low_information_mask
from ferromap.pipelines.calibration import (
    CalibrationEstimate,
    check_scan_step,
    model_window,
    resolve_calibration,
    resolve_scan_step,
)
from ferromap.pipelines.domains import MAJORITY, describe, find_domains


@dataclass
class PolarizationMaps:
    """Per-position results of :func:`predict_dataset`; maps are ``(rows, cols[, n])``."""

    classes: ClassSet
    labels: np.ndarray  # uint8, 255 = not classified
    confidence: np.ndarray  # float32 in [0, 1]
    probs: np.ndarray  # float32 (rows, cols, n_classes)
    distance: np.ndarray  # float32 nearest-prototype distance
    low_info: np.ndarray  # bool
    anomaly: np.ndarray  # float32
    anomaly_mask: np.ndarray  # bool
    geometry: CropGeometry
    model: str
    seconds: float = 0.0
    scan_step_nm: float | None = None
    calibration: CalibrationEstimate | None = None
    periodic_z: np.ndarray | None = None  # lattice-periodic residual z-score, if a lattice
    extra: dict = field(default_factory=dict)

    @property
    def n_patterns(self) -> int:
        """Number of scan positions."""
        return int(self.labels.size)

    @property
    def magnitude(self) -> np.ndarray:
        """CoM deflection from the beam centre (detector px), float32."""
        return self.geometry.magnitude.astype(np.float32)

    @property
    def global_com(self) -> tuple[float, float]:
        """Mean CoM over the scan (detector px)."""
        return self.geometry.global_com

    def informative(self) -> np.ndarray:
        """Classified positions outside the low-information mask (none when every position
        is low-information: such a map has no majority and no domains)."""
        return (self.labels != NOT_CLASSIFIED) & ~self.low_info

    def class_fractions(self, informative_only: bool = True) -> dict[str, float]:
        """Fraction of (informative) classified positions per class (all 0 when there are
        none)."""
        sel = self.informative() if informative_only else self.labels != NOT_CLASSIFIED
        counts = np.bincount(self.labels[sel], minlength=len(self.classes))[: len(self.classes)]
        total = max(int(counts.sum()), 1)
        return {name: float(c) / total for name, c in zip(self.classes.names, counts)}

    def majority_class(self, informative_only: bool = True) -> str | None:
        """The most frequent class (over informative positions by default); None when there
        is no position to count."""
        fractions = self.class_fractions(informative_only)
        name = max(fractions, key=fractions.get)
        return name if fractions[name] > 0 else None

    def domains(self):
        """Connected single-class regions (:func:`ferromap.pipelines.domains.find_domains`)."""
        return find_domains(self.labels, self.classes, valid=self.informative(),
                            scan_step_nm=self.scan_step_nm)

    def title(self) -> str:
        """One line: the majority class if one holds the map, else its domains."""
        if not self.informative().any():
            low = int(self.low_info.sum())
            if low == self.n_patterns:
                return f"no informative position: all {low} are low-information"
            unclassified = int(((self.labels == NOT_CLASSIFIED) & ~self.low_info).sum())
            return (f"no informative position: {low} low-information, {unclassified} not "
                    "classified")
        return describe(self.class_fractions(), self.domains())

    def summary(self) -> dict:
        """The ``summary.json`` content of ``ferromap predict``."""
        fractions = self.class_fractions()
        top = max(fractions.values()) if fractions else 0.0
        return {
            "classes": list(self.classes.names),
            "majority_class": self.majority_class(),
            "majority_fraction": round(top, 4),
            "has_majority": bool(top > MAJORITY),
            "n_informative": int(self.informative().sum()),
            "class_fractions": fractions,
            "majority_class_all_positions": self.majority_class(informative_only=False),
            "class_fractions_all_positions": self.class_fractions(informative_only=False),
            "domains": [d.to_dict() for d in self.domains()],
            "description": self.title(),
            "model": self.model,
            "n_patterns": self.n_patterns,
            "seconds": round(self.seconds, 3),
            "patterns_per_second": round(self.n_patterns / self.seconds, 1) if self.seconds else None,
            "global_com_px": list(self.global_com),
            "n_low_information": int(self.low_info.sum()),
            "n_anomalous": int(self.anomaly_mask.sum()),
            "mean_confidence": float(np.nanmean(self.confidence)),
            "geometry": self.geometry.to_dict(),
            "calibration_estimate": None if self.calibration is None
            else {**self.calibration.to_dict(), "message": self.calibration.message()},
            **self.extra,
        }


def check_model_fits(dataset: Dataset4D, model) -> None:
    """Refuse a model whose class set differs from the one the dataset was labelled with
    (unless the model was trained on labels of this very scan: its classes are the user's)."""
    if model.info.training.get("labels_of") and \
            model.info.training.get("labels_of") == dataset.source:
        return
    classes = dataset.metadata.get("classes")
    if classes and list(classes.get("names", [])) != list(model.info.classes.names):
        raise FerromapError(f"model {model.info.name} predicts "
                            f"{', '.join(model.info.classes.names)} but the dataset is labelled "
                            f"with {', '.join(classes['names'])}")


class PredictKernel(Kernel):
    """Crops around each position's beam centre → model: class probabilities and distance
    (the crops computed in the array namespace ``xp``, numpy by default)."""

    def __init__(self, model, geometry: CropGeometry, xp=None):
        self.model, self.geometry, self.xp = model, geometry, xp
        n = len(model.info.classes)
        self.buffers = (Buffer("probs", (n,)), Buffer("distance"), Buffer("confidence"))

    def process(self, block: np.ndarray, where: Where) -> dict[str, np.ndarray]:
        r, c = block.shape[:2]
        flat, centres = self.geometry.patterns(block, where)
        parts = []
        # on the host, a few hundred patterns at a time (their crops, the symmetry copies and
        # the model's buffers stay small); a GPU takes the block whole
        for part in runs(r * c, RUN_PATTERNS if self.xp is None else r * c):
            pred = self.model.predict(self.geometry.inputs(flat[part], centres[part],
                                                           self.xp or np))
            parts.append((pred.probs, pred.distance, pred.confidence))
        _release_free_memory()
        probs, distance, confidence = (np.concatenate(a) for a in zip(*parts))
        return {"probs": probs.reshape(r, c, -1), "distance": distance.reshape(r, c),
                "confidence": confidence.reshape(r, c)}


def kernel_namespace(model, scheduler=None):
    """Where the CoM, crop and feature kernels compute: on the model's GPU in a local run
    (``model.xp``), with numpy on the workers of a ``distributed.Client``, which may have
    none."""
    return model.xp if scheduler is None or isinstance(scheduler, str) else None


def _release_free_memory() -> None:
    """Give freed heap back to the OS (glibc keeps per-thread arenas of torch's activations)."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _staged(progress: ProgressCallback | None, stage: int, weights=(0.1, 0.78, 0.12)):
    if progress is None:
        return None
    offset = sum(weights[:stage])

    def report(done: int, total: int) -> None:
        progress(int(1000 * (offset + weights[stage] * done / max(total, 1))), 1000)

    return report


#: Memory allowed for the per-phase mean patterns (float64) of the lattice residual.
MAX_PHASE_BYTES = 128 * 2**20


def _lattice_residual(dataset, shift, labels, period_px, progress, cancel, scheduler) -> dict:
    """Lattice-periodic residual z-scores (``{"z": map, "lattice": description}``), or
    ``{"lattice": None}`` when the scan shows no lattice with enough repeats.

    Each pattern is compared with its lattice equivalents *in its own domain*: every
    predicted class large enough to give each phase three positions has phases of its own,
    and the rest are compared with the largest class, so a second domain is not an
    anomaly. ``period_px``, the cell in scan positions when the model knows it (a
    scan-context model: its lattice constant over the scan step), corrects the Fourier
    lattice's periods (:func:`_snap_to_cell`).
    """
    from ferromap.core.periodic import (
        periodic_residual,
        phase_map,
        phase_zscore,
        reciprocal_lattice,
    )

    g = reciprocal_lattice(np.moveaxis(shift, -1, 0))
    if g is None:
        return {"lattice": None}
    g = _snap_to_cell(g, period_px)
    phase, n_bins = phase_map(dataset.scan_shape, g)
    if np.bincount(phase.ravel(), minlength=n_bins).min() < 3:
        return {"lattice": None}  # too few repeats to compare a position with its equivalents
    phase, n_bins, domains = _domain_phases(labels, phase, n_bins)
    if n_bins * int(np.prod(dataset.frame_shape)) * 8 > MAX_PHASE_BYTES:
        return {"lattice": None}  # so many phases that their mean patterns would not fit
    residual = periodic_residual(dataset.array(scheduler), phase, n_bins, progress=progress,
                                 cancel=cancel, scheduler=scheduler)
    periods = [round(float(1 / np.linalg.norm(v)), 3) for v in g]
    return {"z": phase_zscore(residual, phase, n_bins),
            "lattice": {"reciprocal_cycles_per_px": g.round(5).tolist(),
                        "periods_px": periods, "phase_bins": n_bins,
                        "domains_compared_apart": [int(k) for k in domains]}}


def _domain_phases(labels, phase, n_bins):
    """Phase bins per domain (see :func:`_lattice_residual`): ``(phase, n_bins, domains)``."""
    counts = np.bincount(labels.ravel(), minlength=256)
    domains = [int(k) for k in np.argsort(-counts)
               if counts[k] >= 3 * n_bins and k != NOT_CLASSIFIED] or [int(counts.argmax())]
    group = np.zeros(labels.shape, np.intp)
    for i, k in enumerate(domains):
        group[labels == k] = i
    return phase + n_bins * group, n_bins * len(domains), domains


def _snap_to_cell(g: np.ndarray, period_px: float | None) -> np.ndarray:
    """The Fourier lattice replaced by the known square cell along the scan axes (its
    lattice constant over the scan step, as a scan-context model reads the scan) when each
    vector is within 5 % and 5° of it: a domain wall or a short scan moves the Fourier peaks
    by a few per cent, enough to drift the phases across a scan."""
    from ferromap.core.periodic import square_cell

    if not period_px or square_cell(g, mismatch=0.1, max_turn_deg=5.0) is None:
        return g
    if np.any(np.abs(1.0 / np.linalg.norm(g, axis=1) / period_px - 1.0) >= 0.05):
        return g
    axes = np.abs(g).argmax(axis=1)
    return np.eye(2)[axes] * np.sign(g[[0, 1], axes])[:, None] / period_px


def prepare(dataset: Dataset4D, model, *, semiangle_mrad: float | None = None,
            descan: str = "plane", background: bool = True, progress=None, cancel=None,
            scheduler=None):
    """Checks (the model's classes, the detector window, a scan-context model's scan),
    calibration and pass 1: ``(calibrated dataset, geometry, estimate)``.

    Raises
    ------
    FerromapError
        Class-set mismatch, unreadable sampling or window, or no intensity at all.
    """
    check_model_fits(dataset, model)
    if dataset.n_patterns < 1:
        raise FerromapError("the dataset has no scan positions")
    plan = plan_detector(sample_patterns(dataset.array(), read_one=dataset.pattern),
                         background=background)
    dataset, estimate = resolve_calibration(dataset, plan, semiangle_mrad)
    info = model.info
    span = model_window(dataset, info.crop_size, info.mrad_per_px, f"model {info.name}")
    check_scan_early(dataset, model)  # before the first pass over the data
    moments = linear_statistics(dataset.array(scheduler), {"moments": plan.com_matrix()},
                                progress=progress, cancel=cancel, scheduler=scheduler,
                                xp=kernel_namespace(model, scheduler))["moments"]
    try:
        geometry = geometry_from_moments(moments, plan, size=info.crop_size, span=span,
                                         descan=descan)
    except ValueError as exc:
        raise FerromapError(f"{exc}: nothing to classify") from None
    return dataset, geometry, estimate


def predict_dataset(
    dataset: Dataset4D,
    model,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scheduler=None,
    anomaly: AnomalySettings = AnomalySettings(),
    descan: str = "plane",
    background: bool = True,
    semiangle_mrad: float | None = None,
) -> PolarizationMaps:
    """Run a model over every scan position of a lazy dataset.

    Parameters
    ----------
    dataset : Dataset4D
        Any dataset :func:`ferromap.io.open_4dstem` opened; never loaded whole.
    model : LoadedModel
        From :func:`ferromap.models.load_model`.
    progress : callable, optional
        ``progress(done, total)`` over every pass (total 1000).
    cancel : threading.Event, optional
        Set it to stop; :class:`~ferromap.errors.Cancelled` is raised.
    scheduler : optional
        ``"threads"``, ``"synchronous"`` or a ``distributed.Client``.
    anomaly : AnomalySettings
        Anomaly score parameters.
    descan : {"plane", "quadratic", "mean"}
        Beam-centre surface (:func:`ferromap.core.descan.fit_descan`).
    background : bool
        Subtract the detector's constant background before the CoM (dark counts).
    semiangle_mrad : float, optional
        Convergence semi-angle for the calibration estimate when ``mrad_per_px`` is unknown.

    Returns
    -------
    PolarizationMaps
    """
    check_dataset(dataset)
    start = time.perf_counter()
    dataset, geometry, estimate = prepare(dataset, model, semiangle_mrad=semiangle_mrad,
                                          descan=descan, background=background,
                                          progress=_staged(progress, 0),
                                          cancel=cancel, scheduler=scheduler)
    out = _predict_positions(dataset, model, geometry, _staged(progress, 1), cancel, scheduler)
    probs, distance = out["probs"], out["distance"]
    empty = ~np.isfinite(geometry.com).all(axis=-1)
    labels = np.where(empty, NOT_CLASSIFIED, probs.argmax(axis=-1)).astype(np.uint8)
    confidence = np.where(empty, 0.0, out["confidence"]).astype(np.float32)
    calibrated = model.info.calibrated
    low_info = low_information_mask(geometry.magnitude, confidence,
                                    anomaly.min_confidence if calibrated else None) | empty
    periodic = {"lattice": None}
    if anomaly.periodic:
        step_A = out.get("scan_step_A")
        periodic = _lattice_residual(dataset, geometry.shift, labels,
                                     scan_step_args(model)[1] / step_A if step_A else None,
                                     _staged(progress, 2), cancel, scheduler)
    if progress is not None:
        progress(1000, 1000)  # also when there was no lattice to compare
    q99 = model.info.ood.get("nearest_distance_quantiles", {}).get("0.99")
    score, mask = anomaly_score(np.where(empty, 0, labels), low_info, distance, len(model.info.classes),
                                ood_q99=q99, periodic_z=periodic.get("z"), confidence=confidence,
                                settings=anomaly)
    score[empty] = 0.0
    step_estimate = out.get("scan_step_estimate")  # reported; the maps keep the data's axes
    maps = PolarizationMaps(model.info.classes, labels, confidence, probs.astype(np.float32),
                            distance.astype(np.float32), low_info, score, mask & ~empty,
                            geometry, model.info.name, scan_step_nm=dataset.calibration.scan_step_nm,
                            calibration=estimate, periodic_z=periodic.get("z"))
    maps.seconds = time.perf_counter() - start
    maps.extra = {"lattice": periodic["lattice"], "descan": descan,
                  "scan_step_A": out.get("scan_step_A"),
                  "scan_step_estimate": None if step_estimate is None
                  else {**step_estimate.to_dict(), "message": step_estimate.message()},
                  "data_mrad_per_px": dataset.calibration.mrad_per_px,
                  "mrad_per_px_source": dataset.calibration.mrad_per_px_source,
                  "model_mrad_per_px": model.info.mrad_per_px,
                  "confidence_calibrated": bool(calibrated),
                  "low_information_rule": (f"calibrated confidence < {anomaly.min_confidence}"
                                           if calibrated else "CoM-shift magnitude <= scan mean"),
                  "symmetry": model.info.symmetry, "symmetry_passes": model.passes,
                  "device": model.device, "precision": getattr(model, "precision", "fp32")}
    return maps


def _predict_positions(dataset, model, geometry, progress, cancel, scheduler) -> dict:
    """Pass 2: ``probs``, ``distance`` and ``confidence`` per position, per pattern or from
    the scan context (the latter also gives the ``scan_step_A`` it read the scan at)."""
    if not model.reads_scans:
        kernel = PredictKernel(model, geometry, kernel_namespace(model, scheduler))
        return run(dataset.array(scheduler), kernel, progress=progress, cancel=cancel,
                   scheduler=scheduler)
    pred, step, estimate = context_prediction(dataset, model, geometry, progress=progress,
                                              cancel=cancel, scheduler=scheduler)
    shape = dataset.scan_shape
    return {"probs": pred.probs.reshape(*shape, -1), "distance": pred.distance.reshape(shape),
            "confidence": pred.confidence.reshape(shape), "scan_step_A": step,
            "scan_step_estimate": estimate}


def context_prediction(dataset: Dataset4D, model, geometry: CropGeometry, *,
                       calibrate: bool = True, progress=None, cancel=None, scheduler=None):
    """A scan-context model's prediction at every position:
    ``(Prediction, step_A, ScanStepEstimate or None)``.

    The features of every pattern stream in one pass (:class:`FeatureKernel`, cropped with
    ``geometry``); the model then reads the feature map at the scan step, from the file or
    estimated from the lattice (:func:`~ferromap.pipelines.calibration.resolve_scan_step`).
    ``calibrate=False`` gives the raw probabilities (what ``scripts/calibrate_weights.py``
    fits the calibration on).
    """
    from ferromap.core.features import FeatureKernel, RingHarmonics

    arch = model.info.architecture
    basis = RingHarmonics.from_dict(arch["features"])
    step_args = scan_step_args(model)
    kernel = FeatureKernel(geometry, basis, kernel_namespace(model, scheduler))
    features = run(dataset.array(scheduler), kernel,
                   progress=progress, cancel=cancel, scheduler=scheduler)["features"]
    step, estimate = resolve_scan_step(dataset, features, *step_args)
    return model.predict_map(features, step, calibrate=calibrate), step, estimate


#: The pseudo-cubic cell a scan-context model assumes when its file names none (KNN's).
DEFAULT_LATTICE_A = 3.95


def scan_step_args(model) -> tuple[tuple[float, float], float, str]:
    """``(step_range_A, lattice_A, name)`` of a scan-context model, for the scan-step checks
    (:func:`~ferromap.pipelines.calibration.check_scan_step`)."""
    arch = model.info.architecture
    return (tuple(float(v) for v in arch["scan_step_range_A"]),
            float(arch.get("lattice_A", DEFAULT_LATTICE_A)), f"model {model.info.name}")


def check_scan_early(dataset: Dataset4D, model) -> None:
    """Refuse, before any pass over the data, a scan a scan-context model cannot read: a
    known step out of range, or a scan too short to hold one cell."""
    if not model.reads_scans:
        return
    step_nm = dataset.calibration.scan_step_nm
    check_scan_step(dataset.scan_shape, 10.0 * step_nm if step_nm else None,
                    *scan_step_args(model))


def run_predict(
    dataset: Dataset4D,
    model: str | None = None,
    *,
    device: str = "auto",
    precision: str = "auto",
    symmetrize: bool | None = None,
    **kwargs,
) -> PolarizationMaps:
    """Load a model by name or folder and predict: the one entry point of every front end.

    Parameters
    ----------
    dataset : Dataset4D
        The data.
    model : str, optional
        A shipped model's name (:data:`ferromap.models.SHIPPED`; the first, by default) or a
        model folder.
    device, precision : str
        See :func:`ferromap.models.load_model`.
    symmetrize : bool, optional
        Average over the crystal's symmetry; ``None`` uses the model file's default.
    **kwargs
        Passed to :func:`predict_dataset` (progress, cancel, scheduler, descan, ...).

    Returns
    -------
    PolarizationMaps
    """
    from ferromap.models.store import SHIPPED, load_model

    check_dataset(dataset)  # before a model loads
    loaded = load_model(model or SHIPPED[0], device=device, precision=precision,
                        symmetrize=symmetrize)
    return predict_dataset(dataset, loaded, **kwargs)
