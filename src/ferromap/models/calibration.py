"""Confidence that means the probability of being right: temperature scaling.

A model's probabilities are tempered, ``p ∝ p^(1/T)``, with the ``T`` that minimises the
negative log-likelihood of held-out validation predictions (Guo et al. 2017, "On Calibration
of Modern Neural Networks"). One ``T`` per number of symmetry passes is fitted and stored in
the model file (``calibration.temperature``); :meth:`ferromap.models.LoadedModel.predict`
applies it.
"""

from __future__ import annotations

import numpy as np


def tempered_log_probs(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``log`` of ``p^(1/T)`` renormalised, row by row."""
    log_p = np.log(np.clip(np.asarray(probs, np.float64), 1e-30, None)) / temperature
    log_p -= log_p.max(axis=1, keepdims=True)
    return log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the validation negative log-likelihood.

    Parameters
    ----------
    probs : numpy.ndarray
        ``(n, n_classes)`` uncalibrated probabilities.
    labels : numpy.ndarray
        ``(n,)`` true class indices.

    Returns
    -------
    float
        ``T`` in [0.01, 100].

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 4, 2000)
    >>> right = rng.random(2000) < 0.9          # 90 % right ...
    >>> pred = np.where(right, y, (y + 1) % 4)
    >>> probs = np.full((2000, 4), 0.2); probs[np.arange(2000), pred] = 0.4   # ... says 40 %
    >>> t = fit_temperature(probs, y)
    >>> bool(t < 1)  # sharpen
    True
    """
    from scipy.optimize import minimize_scalar

    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if probs.ndim != 2 or labels.shape != (len(probs),) or len(probs) == 0:
        raise ValueError("probs must be (n, n_classes) and labels (n,), n > 0")

    def nll(log_t: float) -> float:
        lp = tempered_log_probs(probs, float(np.exp(log_t)))
        return float(-lp[np.arange(len(labels)), labels].mean())

    res = minimize_scalar(nll, bounds=(np.log(0.01), np.log(100.0)), method="bounded")
    return float(np.exp(res.x))
