"""The uniform per-pattern model output (no torch: PCA+kNN and the pipelines use it too)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Prediction:
    """Per-pattern model output.

    Attributes
    ----------
    probs : numpy.ndarray
        ``(n, n_classes)`` class probabilities (rows sum to 1).
    distance : numpy.ndarray
        ``(n,)`` distance of the pattern's embedding to the nearest prototype (prototype
        head) or training example (PCA+kNN); NaN where the model has no such notion.
    """

    probs: np.ndarray
    distance: np.ndarray

    @property
    def labels(self) -> np.ndarray:
        """Most probable class per pattern."""
        return self.probs.argmax(axis=1).astype(np.uint8)

    @property
    def confidence(self) -> np.ndarray:
        """Probability of the most probable class."""
        return self.probs.max(axis=1).astype(np.float32)

    def tempered(self, temperature: float) -> Prediction:
        """Probabilities ``∝ p^(1/T)`` (temperature scaling of the log-probabilities)."""
        from ferromap.models.calibration import tempered_log_probs

        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        p = np.exp(tempered_log_probs(self.probs, temperature))
        return Prediction(p.astype(np.float32), self.distance)
