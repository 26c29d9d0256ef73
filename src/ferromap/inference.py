"""Streaming polarization inference over a lazy dataset, in bounded memory.

Pass 1 streams the CoM (global CoM, shift magnitude). Pass 2 streams blocks of patterns:
read → crop around the global CoM → resample to the model's sampling → min-max normalise →
model. Only per-position results are kept. The napari plugin and the CLI both call
:func:`predict_dataset`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ferromap.anomaly import AnomalySettings, anomaly_score, low_information_mask
from ferromap.classes import NOT_CLASSIFIED, ClassSet
from ferromap.core.com import center_of_mass
from ferromap.core.crop import crop_origin, preprocess_crops
from ferromap.core.resample import window_size
from ferromap.core.shift import com_shift, magnitude_angle
from ferromap.core.stream import ProgressCallback, map_patterns
from ferromap.errors import FerromapError
from ferromap.io.dataset import Dataset4D


@dataclass
class PolarizationMaps:
    """Per-position results of :func:`predict_dataset`; maps are ``(rows, cols[, n])``."""

    classes: ClassSet
    labels: np.ndarray  # uint8, 255 = not classified
    confidence: np.ndarray  # float32 in [0, 1]
    probs: np.ndarray  # float32 (rows, cols, n_classes)
    distance: np.ndarray  # float32 nearest-prototype distance
    magnitude: np.ndarray  # float32 CoM-shift magnitude (px)
    low_info: np.ndarray  # bool
    anomaly: np.ndarray  # float32
    anomaly_mask: np.ndarray  # bool
    global_com: tuple[float, float]
    model: str
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)
    periodic_z: np.ndarray | None = None  # lattice-periodic residual z-score, if a lattice

    @property
    def n_patterns(self) -> int:
        """Number of scan positions."""
        return int(self.labels.size)

    def class_fractions(self, informative_only: bool = True) -> dict[str, float]:
        """Fraction of (informative) classified positions per class."""
        sel = self.labels != NOT_CLASSIFIED
        if informative_only and (sel & ~self.low_info).any():
            sel &= ~self.low_info
        counts = np.bincount(self.labels[sel], minlength=len(self.classes))[: len(self.classes)]
        total = max(int(counts.sum()), 1)
        return {name: float(c) / total for name, c in zip(self.classes.names, counts)}

    def majority_class(self, informative_only: bool = True) -> str:
        """The most frequent class (over informative positions by default)."""
        fractions = self.class_fractions(informative_only)
        return max(fractions, key=fractions.get)

    def summary(self) -> dict:
        """The ``summary.json`` content of ``ferromap predict``."""
        return {
            "classes": list(self.classes.names),
            "majority_class": self.majority_class(),
            "class_fractions": self.class_fractions(),
            "majority_class_all_positions": self.majority_class(informative_only=False),
            "class_fractions_all_positions": self.class_fractions(informative_only=False),
            "model": self.model,
            "n_patterns": self.n_patterns,
            "seconds": round(self.seconds, 3),
            "patterns_per_second": round(self.n_patterns / self.seconds, 1) if self.seconds else None,
            "global_com_px": list(self.global_com),
            "n_low_information": int(self.low_info.sum()),
            "n_anomalous": int(self.anomaly_mask.sum()),
            "mean_confidence": float(np.nanmean(self.confidence)),
            **self.extra,
        }


def check_model_fits(dataset: Dataset4D, model) -> None:
    """Refuse a model whose class set differs from the one the dataset was labelled with."""
    classes = dataset.metadata.get("classes")
    if classes and list(classes.get("names", [])) != list(model.info.classes.names):
        raise FerromapError(f"model {model.info.name} predicts "
                            f"{', '.join(model.info.classes.names)} but the dataset is labelled "
                            f"with {', '.join(classes['names'])}")


def _check(dataset: Dataset4D, model) -> tuple[int, tuple[int, int]]:
    info = model.info
    win = window_size(info.crop_size, dataset.calibration.mrad_per_px, info.mrad_per_px)
    if win > min(dataset.frame_shape):
        raise FerromapError(
            f"the patterns ({dataset.frame_shape[0]}×{dataset.frame_shape[1]} px) are smaller "
            f"than the {win}-px window model {info.name} needs (crop {info.crop_size} px at "
            f"{info.mrad_per_px} mrad/px; data at {dataset.calibration.mrad_per_px} mrad/px)")
    if dataset.n_patterns < 1:
        raise FerromapError("the dataset has no scan positions")
    return win, dataset.frame_shape


def _release_free_memory() -> None:
    """Give freed heap back to the OS (glibc keeps per-thread arenas of torch's activations)."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _staged(progress: ProgressCallback | None, stage: int, weights=(0.12, 0.76, 0.12)):
    if progress is None:
        return None
    offset = sum(weights[:stage])

    def report(done: int, total: int) -> None:
        progress(int(1000 * (offset + weights[stage] * done / max(total, 1))), 1000)

    return report


#: Memory allowed for the per-phase mean patterns (float64) of the lattice residual.
MAX_PHASE_BYTES = 128 * 2**20


def _lattice_residual(dataset, shift, progress, cancel, scheduler) -> dict:
    """Lattice-periodic residual z-scores (``{"z": map, "lattice": description}``), or
    ``{"lattice": None}`` when the scan shows no lattice with enough repeats."""
    from ferromap.core.periodic import (
        periodic_residual,
        phase_map,
        phase_zscore,
        reciprocal_lattice,
    )

    g = reciprocal_lattice(np.moveaxis(shift, -1, 0))
    if g is None:
        return {"lattice": None}
    phase, n_bins = phase_map(dataset.scan_shape, g)
    if np.bincount(phase.ravel(), minlength=n_bins).min() < 3:
        return {"lattice": None}  # too few repeats to compare a position with its equivalents
    if n_bins * int(np.prod(dataset.frame_shape)) * 8 > MAX_PHASE_BYTES:
        return {"lattice": None}  # so many phases that their mean patterns would not fit
    residual = periodic_residual(dataset.data, phase, n_bins, progress=progress, cancel=cancel,
                                 scheduler=scheduler)
    periods = [round(float(1 / np.linalg.norm(v)), 3) for v in g]
    return {"z": phase_zscore(residual, phase, n_bins),
            "lattice": {"reciprocal_cycles_per_px": g.round(5).tolist(),
                        "periods_px": periods, "phase_bins": n_bins}}


def predict_dataset(
    dataset: Dataset4D,
    model,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scheduler=None,
    anomaly: AnomalySettings = AnomalySettings(),
) -> PolarizationMaps:
    """Run a model over every scan position of a lazy dataset.

    Parameters
    ----------
    dataset : Dataset4D
        Any dataset :func:`ferromap.io.open_4dstem` opened; never loaded whole.
    model : LoadedModel
        From :func:`ferromap.models.load_model`.
    progress : callable, optional
        ``progress(done, total)`` over both passes (total 1000).
    cancel : threading.Event, optional
        Set it to stop; :class:`~ferromap.errors.Cancelled` is raised.
    scheduler : optional
        Dask scheduler name or ``distributed.Client``.
    anomaly : AnomalySettings
        Anomaly score parameters.

    Returns
    -------
    PolarizationMaps
    """
    start = time.perf_counter()
    win, frame = _check(dataset, model)
    com = center_of_mass(dataset.data, progress=_staged(progress, 0), cancel=cancel,
                         scheduler=scheduler)
    if not np.isfinite(com).any():
        raise FerromapError("no pattern has any intensity: nothing to classify")
    global_com = tuple(float(v) for v in np.nanmean(com.reshape(-1, 2), axis=0))
    shift = com_shift(com, reference="mean")
    magnitude, _ = magnitude_angle(shift)
    origin = crop_origin(global_com, win, frame)
    size, n = model.info.crop_size, len(model.info.classes)

    def kernel(block: np.ndarray) -> np.ndarray:
        pred = model.predict(preprocess_crops(block, origin, win, size))
        out = np.concatenate([pred.probs, pred.distance[:, None]], axis=1)
        _release_free_memory()
        return out

    out = map_patterns(dataset.data, kernel, n + 1, progress=_staged(progress, 1), cancel=cancel,
                       scheduler=scheduler)
    probs, distance = out[..., :n], out[..., n]
    empty = ~np.isfinite(com).all(axis=-1)
    labels = np.where(empty, NOT_CLASSIFIED, probs.argmax(axis=-1)).astype(np.uint8)
    confidence = np.where(empty, 0.0, probs.max(axis=-1)).astype(np.float32)
    low_info = low_information_mask(magnitude)
    q99 = model.info.ood.get("nearest_distance_quantiles", {}).get("0.99")
    periodic = {"lattice": None}
    if anomaly.periodic:
        periodic = _lattice_residual(dataset, shift, _staged(progress, 2), cancel, scheduler)
    if progress is not None:
        progress(1000, 1000)  # also when there was no lattice to compare
    score, mask = anomaly_score(np.where(empty, 0, labels), low_info | empty, distance, n,
                                ood_q99=q99, periodic_z=periodic.get("z"), settings=anomaly)
    score[empty] = 0.0
    mask &= ~empty
    maps = PolarizationMaps(model.info.classes, labels, confidence, probs.astype(np.float32),
                            distance.astype(np.float32), magnitude.astype(np.float32),
                            low_info, score, mask, global_com, model.info.name)
    maps.seconds = time.perf_counter() - start
    maps.periodic_z = periodic.get("z")
    maps.extra = {"lattice": periodic["lattice"], "crop_window_px": win,
                  "crop_origin_px": list(origin),
                  "data_mrad_per_px": dataset.calibration.mrad_per_px,
                  "model_mrad_per_px": model.info.mrad_per_px,
                  "symmetry": model.info.symmetry, "symmetry_passes": model.passes}
    return maps
