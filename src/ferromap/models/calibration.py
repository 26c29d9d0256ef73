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


# -- the probability of being right, from more than the top probability ------------------------
#
# Temperature scaling can only stretch the top probability. A prototype head gives nearly the
# same top probability to a clean pattern it reads right and to a noisy one it reads at chance,
# so no temperature makes both honest (docs/benchmark.md measures it). The confidence is
# therefore a logistic regression of "the label is right" on a few things the model says
# about each pattern, fitted on held-out validation scans and stored in the model file as
# plain numbers.

#: What the confidence is read from (columns of :func:`confidence_features`).
CONFIDENCE_FEATURES = ("log_p_max", "log_margin", "entropy", "log_distance", "agreement")


def confidence_features(probs: np.ndarray, distance: np.ndarray,
                        agreement: np.ndarray | None = None) -> np.ndarray:
    """``(n, 5)`` features of :data:`CONFIDENCE_FEATURES` for each prediction.

    Parameters
    ----------
    probs : numpy.ndarray
        ``(n, n_classes)`` probabilities (already tempered).
    distance : numpy.ndarray
        ``(n,)`` distance to the nearest prototype; NaN where the model has none (read as 0).
    agreement : numpy.ndarray, optional
        ``(n,)`` fraction of the symmetry passes whose own label is the final one (1 for a
        single pass, the default).

    Returns
    -------
    numpy.ndarray
        float64 features.
    """
    p = np.clip(np.asarray(probs, np.float64), 1e-12, 1.0)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probs must be (n, n_classes >= 2), got shape {p.shape}")
    top = np.sort(p, axis=1)
    d = np.asarray(distance, np.float64)
    log_d = np.where(np.isfinite(d) & (d > 0), np.log(np.where(d > 0, d, 1.0)), 0.0)
    agree = np.ones(len(p)) if agreement is None else np.asarray(agreement, np.float64)
    return np.column_stack([np.log(top[:, -1]), np.log(top[:, -1] / top[:, -2]),
                            -(p * np.log(p)).sum(axis=1), log_d, agree])


def fit_confidence(features: np.ndarray, correct: np.ndarray, *, l2: float = 1e-3) -> dict:
    """Logistic regression of ``correct`` on ``features`` (L2-regularised, standardised).

    Parameters
    ----------
    features : numpy.ndarray
        ``(n, k)`` from :func:`confidence_features`.
    correct : numpy.ndarray
        ``(n,)`` whether each label was right.
    l2 : float
        Ridge penalty on the standardised coefficients.

    Returns
    -------
    dict
        ``{"features": names, "coef": [...], "intercept": b}``: ``P(right) = σ(b + coef·x)``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(4000, 5)); right = rng.random(4000) < 1 / (1 + np.exp(-2 * x[:, 0]))
    >>> spec = fit_confidence(x, right)
    >>> bool(abs(spec["coef"][0] - 2) < 0.2 and max(map(abs, spec["coef"][1:])) < 0.2)
    True
    """
    from scipy.optimize import minimize

    x = np.asarray(features, np.float64)
    y = np.asarray(correct, np.float64)
    if x.ndim != 2 or y.shape != (len(x),) or len(x) == 0:
        raise ValueError("features must be (n, k) and correct (n,), n > 0")
    mean, std = x.mean(axis=0), x.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    z = (x - mean) / std

    def loss(w):
        t = w[0] + z @ w[1:]
        nll = np.logaddexp(0.0, t) - y * t
        g = 1 / (1 + np.exp(-t)) - y
        return (nll.mean() + l2 * (w[1:] ** 2).sum(),
                np.concatenate([[g.mean()], z.T @ g / len(z) + 2 * l2 * w[1:]]))

    w = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B").x
    coef = w[1:] / std
    names = CONFIDENCE_FEATURES if x.shape[1] == len(CONFIDENCE_FEATURES) else \
        tuple(f"x{i}" for i in range(x.shape[1]))
    return {"features": list(names), "coef": [float(c) for c in coef],
            "intercept": float(w[0] - coef @ mean)}


def check_confidence_spec(spec) -> bool:
    """Whether ``spec`` is a well-formed :func:`fit_confidence` result for our features."""
    return (isinstance(spec, dict) and spec.get("features") == list(CONFIDENCE_FEATURES)
            and isinstance(spec.get("coef"), list) and len(spec["coef"]) == len(CONFIDENCE_FEATURES)
            and all(isinstance(c, (int, float)) and np.isfinite(c) for c in spec["coef"])
            and isinstance(spec.get("intercept"), (int, float)) and np.isfinite(spec["intercept"]))


def apply_confidence(spec: dict, features: np.ndarray) -> np.ndarray:
    """``(n,)`` probability of being right from a :func:`fit_confidence` result."""
    t = spec["intercept"] + np.asarray(features, np.float64) @ np.asarray(spec["coef"])
    return 0.5 * (1.0 + np.tanh(0.5 * t))  # the logistic function, without overflow


def fit_calibration(pred, labels: np.ndarray) -> tuple[float, dict]:
    """Both fits for one pass count: the temperature, then the confidence regression on the
    tempered predictions (the order :meth:`Prediction.calibrated` applies them in).

    Parameters
    ----------
    pred : ferromap.models.prediction.Prediction
        Uncalibrated validation predictions.
    labels : numpy.ndarray
        ``(n,)`` true class indices.

    Returns
    -------
    tuple
        ``(temperature, confidence regression)`` for the model file.
    """
    temperature = fit_temperature(pred.probs, labels)
    hot = pred.tempered(temperature)
    spec = fit_confidence(confidence_features(hot.probs, hot.distance, hot.agreement),
                          hot.labels == np.asarray(labels))
    return temperature, spec
