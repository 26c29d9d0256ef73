"""Evaluation on labelled test sets, through the pipeline users run.

Each scan stacked in a labelled set (one per class in our recipes) is predicted on its own
with :func:`ferromap.pipelines.predict.predict_dataset`, exactly as ``ferromap predict`` would
on that scan: calibration guard, descan surface, sub-pixel crops, symmetry average and the
calibrated confidence. Scores: per-pattern accuracy, the scans whose majority class is right,
and the expected calibration error of the confidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ferromap.classes import NOT_CLASSIFIED


@dataclass
class Evaluation:
    """Scores of one model on one labelled set."""

    accuracy: float
    n_patterns: int
    majority_correct: int  # scans whose majority prediction is their true class
    n_scans: int
    majority: list[tuple[str, str]]  # (true class, predicted majority class) per scan
    ece: float  # expected calibration error of the confidence (15 equal-width bins)
    mean_confidence: float
    reliability: dict = field(default_factory=dict)  # per bin: confidence, accuracy, count

    def to_dict(self) -> dict:
        """JSON form."""
        return {"accuracy": self.accuracy, "n_patterns": self.n_patterns,
                "majority_correct": self.majority_correct, "n_scans": self.n_scans,
                "majority": self.majority, "ece": self.ece,
                "mean_confidence": self.mean_confidence, "reliability": self.reliability}


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> dict:
    """Per equal-width confidence bin: mean confidence, accuracy and count; and the ECE.

    Examples
    --------
    >>> import numpy as np
    >>> r = reliability(np.array([0.9, 0.9, 0.6, 0.6]), np.array([1, 1, 1, 0]), bins=5)
    >>> round(r["ece"], 3)
    0.1
    """
    confidence = np.asarray(confidence, dtype=np.float64).ravel()
    correct = np.asarray(correct, dtype=np.float64).ravel()
    if confidence.shape != correct.shape:
        raise ValueError("confidence and correct must have the same size")
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(confidence, edges) - 1, 0, bins - 1)
    out = {"confidence": [], "accuracy": [], "count": []}
    ece = 0.0
    for b in range(bins):
        sel = idx == b
        n = int(sel.sum())
        conf = float(confidence[sel].mean()) if n else float("nan")
        acc = float(correct[sel].mean()) if n else float("nan")
        out["confidence"].append(conf)
        out["accuracy"].append(acc)
        out["count"].append(n)
        if n:
            ece += n / max(len(confidence), 1) * abs(acc - conf)
    out["ece"] = float(ece)
    return out


def scan_predictions(model, path: str, *, progress: Callable[[int, int], None] | None = None,
                     **predict_kwargs):
    """``[(truth, PolarizationMaps)]`` for every scan stacked in a labelled set."""
    from ferromap.io import open_4dstem
    from ferromap.io.sidecar import read_label_map
    from ferromap.pipelines.anomaly import AnomalySettings
    from ferromap.pipelines.predict import predict_dataset

    ds, labels = open_4dstem(path), read_label_map(path)
    predict_kwargs.setdefault("anomaly", AnomalySettings(periodic=False))
    out = []
    scans = ds.scans()
    for i, (rows, cols) in enumerate(scans):
        maps = predict_dataset(ds.subscan(rows, cols), model, **predict_kwargs)
        out.append((labels[rows, cols], maps))
        if progress is not None:
            progress(i + 1, len(scans))
    return out


def score(results, classes) -> Evaluation:
    """Accuracy, majority per scan and calibration of ``[(truth, maps)]``."""
    truth_all, pred_all, conf_all, majority, correct = [], [], [], [], 0
    for truth, maps in results:
        keep = truth != NOT_CLASSIFIED
        t, p = truth[keep], maps.labels[keep]
        true = int(np.bincount(t).argmax())
        # a scan without an informative position is scored on what its map shows
        pred = maps.majority_class() or maps.majority_class(informative_only=False)
        majority.append((classes.names[true], pred or "none"))
        correct += int(pred == classes.names[true])
        truth_all.append(t)
        pred_all.append(p)
        conf_all.append(maps.confidence[keep])
    t, p, c = (np.concatenate(x) for x in (truth_all, pred_all, conf_all))
    rel = reliability(c, p == t)
    return Evaluation(float((p == t).mean()), int(len(t)), correct, len(results), majority,
                      rel.pop("ece"), float(c.mean()), rel)


def evaluate(model, paths: list[str], progress: Callable[[int, int], None] | None = None,
             **predict_kwargs) -> Evaluation:
    """Evaluate a loaded model on labelled datasets, each scan through the predict pipeline.

    Parameters
    ----------
    model : LoadedModel
        From :func:`ferromap.models.load_model`.
    paths : list of str
        Labelled datasets (``ferromap simulate`` output).
    progress : callable, optional
        ``progress(done, total)`` in scans, per dataset.
    **predict_kwargs
        Passed to :func:`ferromap.pipelines.predict.predict_dataset` (e.g. ``descan``).

    Returns
    -------
    Evaluation
    """
    if not paths:
        raise ValueError("paths must name at least one labelled dataset")
    results = []
    for path in paths:
        results += scan_predictions(model, path, progress=progress, **predict_kwargs)
    return score(results, model.info.classes)
