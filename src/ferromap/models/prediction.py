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
    agreement : numpy.ndarray or None
        ``(n,)`` fraction of the symmetry passes whose own label is the combined one (``None``:
        one pass).
    right : numpy.ndarray or None
        ``(n,)`` calibrated probability that the label is right (:meth:`calibrated`); ``None``
        until calibrated, when :attr:`confidence` is the top probability.
    """

    probs: np.ndarray
    distance: np.ndarray
    agreement: np.ndarray | None = None
    right: np.ndarray | None = None

    @classmethod
    def concat(cls, preds: list[Prediction]) -> Prediction:
        """The predictions of several sets of patterns, one after the other (uncalibrated:
        ``right`` is not kept)."""
        if not preds:
            raise ValueError("concat needs at least one Prediction")
        agreement = None if any(p.agreement is None for p in preds) else \
            np.concatenate([p.agreement for p in preds])
        return cls(np.concatenate([p.probs for p in preds]),
                   np.concatenate([p.distance for p in preds]), agreement)

    @property
    def labels(self) -> np.ndarray:
        """Most probable class per pattern."""
        return self.probs.argmax(axis=1).astype(np.uint8)

    @property
    def confidence(self) -> np.ndarray:
        """The calibrated probability of being right, else the top class probability."""
        if self.right is not None:
            return np.asarray(self.right, np.float32)
        return self.probs.max(axis=1).astype(np.float32)

    def tempered(self, temperature: float) -> Prediction:
        """Probabilities ``∝ p^(1/T)`` (temperature scaling of the log-probabilities)."""
        from ferromap.models.calibration import tempered_log_probs

        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        p = np.exp(tempered_log_probs(self.probs, temperature))
        return Prediction(p.astype(np.float32), self.distance, self.agreement)

    def calibrated(self, temperature: float | None, confidence: dict | None) -> Prediction:
        """Tempered probabilities and, with a fitted ``confidence`` map
        (:func:`ferromap.models.calibration.fit_confidence`), the probability of being right.

        Parameters
        ----------
        temperature : float or None
            Temperature of the class probabilities (none: unchanged).
        confidence : dict or None
            The model file's confidence regression for this number of passes.

        Returns
        -------
        Prediction
        """
        from ferromap.models.calibration import apply_confidence, confidence_features

        pred = self.tempered(temperature) if temperature else self
        if not confidence:
            return pred
        x = confidence_features(pred.probs, pred.distance, pred.agreement)
        right = apply_confidence(confidence, x).astype(np.float32)
        return Prediction(pred.probs, pred.distance, pred.agreement, right)


def probabilities(log_p: np.ndarray) -> np.ndarray:
    """Row-normalised probabilities ``(n, n_classes)`` float32 from (unnormalised)
    log-probabilities, e.g. the mean over symmetry passes (a normalised geometric mean)."""
    probs = np.exp(log_p - log_p.max(axis=1, keepdims=True))
    return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)
