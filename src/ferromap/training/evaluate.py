"""Evaluation on labelled test sets: per-pattern accuracy and majority class per scan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ferromap.classes import ClassSet
from ferromap.training.train import LabelledCrops, load_labelled


@dataclass
class Evaluation:
    """Scores of one model on one labelled set."""

    accuracy: float
    n_patterns: int
    majority_correct: int  # scans (one per true class) whose majority prediction is right
    n_scans: int
    majority: dict[str, str]  # true class -> predicted majority class

    def to_dict(self) -> dict:
        """JSON form."""
        return {"accuracy": self.accuracy, "n_patterns": self.n_patterns,
                "majority_correct": self.majority_correct, "n_scans": self.n_scans,
                "majority": self.majority}


def score(pred_labels: np.ndarray, data: LabelledCrops, classes: ClassSet) -> Evaluation:
    """Accuracy and per-scan majority class of predictions against ``data.labels``."""
    truth = data.labels
    majority = {}
    correct = 0
    for sid in np.unique(data.scan_id):
        sel = data.scan_id == sid
        true = int(np.bincount(truth[sel]).argmax())
        pred = int(np.bincount(pred_labels[sel], minlength=len(classes)).argmax())
        majority[classes.names[true]] = classes.names[pred]
        correct += int(pred == true)
    return Evaluation(float((pred_labels == truth).mean()), int(len(truth)), correct,
                      len(majority), majority)


def evaluate(model, paths: list[str], progress: Callable[[int, int], None] | None = None
             ) -> Evaluation:
    """Evaluate a loaded model on labelled datasets (crops resampled to the model's sampling)."""
    data = load_labelled(paths, size=model.info.crop_size,
                         model_mrad_per_px=model.info.mrad_per_px, progress=progress)
    return score(model.predict(data.crops).labels, data, model.info.classes)
