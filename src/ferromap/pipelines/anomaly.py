"""Anomaly highlights: defects show up as local misclassification (KNN paper, §Anomaly).

Per informative position the score combines

* ``local``: the label disagrees with the majority of the informative neighbours in a
  ``(2r+1)²`` window, weighted by how sure the model is of it:
  ``clip((confidence - c0) / (1 - c0), 0, 1)`` with ``c0 = 0.6`` (weight 0.5). An unsure
  prediction that differs from its neighbours is noise; a confident one is a finding;
* ``global``: the label disagrees with the dataset's majority class (weight 0.2);
* ``ood``: the embedding is farther from its nearest prototype (or training example) than
  the model's validation data went: ``clip(distance / q99 - 1, 0, 1)`` (weight 0.5, so an
  embedding twice as far as the validation data's 99th percentile is flagged on its own).

* ``periodic`` (new, model-free): how far the pattern is from the mean pattern of its
  lattice-equivalent positions, as a robust z-score among them
  (:mod:`ferromap.core.periodic`): ``clip((z - z0/2) / (z0/2), 0, 1)`` with ``z0 = 6``
  (weight 0.5, so ``z >= 6`` is flagged on its own). A defect breaks the repetition even
  where the classifier, trained to ignore small changes, still predicts the right class.

The sum is clipped to [0, 1]; the mask is ``score >= 0.5``.

Low-information positions get no prediction-based score; they form the separate
low-information mask. With a calibrated model (its file holds a temperature, so confidence
is the probability of being right) they are the positions whose confidence is below
``min_confidence`` (0.5: more likely wrong than right). Without one, the paper's rule is used:
CoM-shift magnitude at or below the scan mean after min-max normalisation. The periodic term
does not depend on predictions and is scored everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferromap.core.shift import magnitude_filter


@dataclass(frozen=True)
class AnomalySettings:
    """Weights, neighbourhood radius and mask threshold of the anomaly score."""

    w_local: float = 0.5
    w_global: float = 0.2
    w_ood: float = 0.5
    radius: int = 2
    threshold: float = 0.5
    w_periodic: float = 0.5
    periodic_z: float = 6.0
    periodic: bool = True  # compute the lattice-periodic residual when a lattice is found
    min_confidence: float = 0.5  # calibrated models: below it a position is low-information
    confident: float = 0.6  # c0 of the local term's confidence weight


def low_information_mask(magnitude: np.ndarray, confidence: np.ndarray | None = None,
                         min_confidence: float | None = None) -> np.ndarray:
    """Positions whose prediction carries little information.

    Parameters
    ----------
    magnitude : numpy.ndarray
        ``(rows, cols)`` CoM-shift magnitude (used when no calibrated confidence is given).
    confidence : numpy.ndarray, optional
        ``(rows, cols)`` calibrated confidence (probability of being right).
    min_confidence : float, optional
        With ``confidence``: positions below it are low-information.

    Returns
    -------
    numpy.ndarray
        Boolean mask.
    """
    magnitude = np.asarray(magnitude)
    if confidence is not None and min_confidence is not None:
        confidence = np.asarray(confidence)
        if confidence.shape != magnitude.shape:
            raise ValueError(f"confidence has shape {confidence.shape}; magnitude "
                             f"{magnitude.shape}")
        return ~(confidence >= min_confidence)
    return ~magnitude_filter(magnitude)


def local_majority(labels: np.ndarray, valid: np.ndarray, n_classes: int, radius: int) -> np.ndarray:
    """Most common valid label among each position's neighbours (itself excluded); -1 if none."""
    rows, cols = labels.shape
    counts = np.zeros((rows, cols, n_classes), np.int32)
    onehot = np.zeros((rows + 2 * radius, cols + 2 * radius, n_classes), np.int32)
    idx = np.nonzero(valid)
    onehot[idx[0] + radius, idx[1] + radius, labels[idx]] = 1
    for dr in range(-radius, radius + 1):
        for dc in range(-radius, radius + 1):
            if dr or dc:
                counts += onehot[radius + dr : radius + dr + rows, radius + dc : radius + dc + cols]
    majority = counts.argmax(axis=2)
    return np.where(counts.max(axis=2) > 0, majority, -1)


def anomaly_score(
    labels: np.ndarray,
    low_info: np.ndarray,
    distance: np.ndarray,
    n_classes: int,
    *,
    ood_q99: float | None = None,
    periodic_z: np.ndarray | None = None,
    confidence: np.ndarray | None = None,
    settings: AnomalySettings = AnomalySettings(),
) -> tuple[np.ndarray, np.ndarray]:
    """Anomaly score map and mask.

    Parameters
    ----------
    labels : numpy.ndarray
        ``(rows, cols)`` predicted class indices.
    low_info : numpy.ndarray
        ``(rows, cols)`` boolean low-information mask (never scored).
    distance : numpy.ndarray
        ``(rows, cols)`` nearest-prototype distance (NaN if the model has none).
    n_classes : int
        Number of classes.
    ood_q99 : float, optional
        99th percentile of the validation distances (from the model file).
    periodic_z : numpy.ndarray, optional
        ``(rows, cols)`` lattice-periodic residual z-scores
        (:func:`ferromap.core.periodic.phase_zscore`).
    confidence : numpy.ndarray, optional
        ``(rows, cols)`` confidence of each prediction; weights the local term.
    settings : AnomalySettings
        Weights, radius, threshold.

    Returns
    -------
    score : numpy.ndarray
        float32 in [0, 1]; larger = more anomalous.
    mask : numpy.ndarray
        Boolean, ``score >= settings.threshold``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be a 2-D map, got shape {labels.shape}")
    for name, arr in (("low_info", low_info), ("distance", distance),
                      ("periodic_z", periodic_z), ("confidence", confidence)):
        if arr is not None and np.shape(arr) != labels.shape:
            raise ValueError(f"{name} has shape {np.shape(arr)}; labels {labels.shape}")
    s = settings
    informative = ~np.asarray(low_info, bool)
    score = np.zeros(labels.shape, np.float32)
    if informative.any():
        lab = labels.astype(np.int64)
        neigh = local_majority(lab, informative, n_classes, s.radius)
        sure = 1.0 if confidence is None else np.clip(
            (np.asarray(confidence) - s.confident) / (1 - s.confident), 0.0, 1.0)
        score += s.w_local * ((neigh >= 0) & (neigh != lab)) * sure
        majority = np.bincount(lab[informative], minlength=n_classes).argmax()
        score += s.w_global * (lab != majority)
        if ood_q99 and np.isfinite(distance).any():
            score += s.w_ood * np.clip(np.nan_to_num(distance / ood_q99 - 1.0), 0.0, 1.0)
        score[low_info] = 0.0
    if periodic_z is not None:
        half = s.periodic_z / 2
        score += s.w_periodic * np.clip(np.nan_to_num((periodic_z - half) / half), 0.0, 1.0)
    score = np.minimum(score, 1.0)
    return score, score >= s.threshold
