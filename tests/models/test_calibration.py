"""The confidence is the probability of being right: temperature, the logistic confidence
regression, and how a model file carries them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ferromap.models import ModelFileError, load_model
from ferromap.models.calibration import (
    CONFIDENCE_FEATURES,
    apply_confidence,
    confidence_features,
    fit_confidence,
    fit_temperature,
)
from ferromap.models.prediction import Prediction
from ferromap.models.store import shipped_model_path
from ferromap.training.evaluate import reliability


def two_regimes(n: int = 4000, seed: int = 0):
    """Predictions on a clean half (95 % right) and a noisy half (at chance) whose top
    probabilities are nearly the same, as a prototype head gives them; the passes agree on
    the clean half and disagree on the noisy one."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 8, n)
    clean = np.arange(n) < n // 2
    right = np.where(clean, rng.random(n) < 0.95, rng.random(n) < 1 / 8)
    label = np.where(right, y, (y + rng.integers(1, 8, n)) % 8)
    probs = np.full((n, 8), 0.09)
    probs[np.arange(n), label] = np.where(clean, 0.37, 0.33) + rng.normal(0, 0.01, n)
    probs /= probs.sum(1, keepdims=True)
    agreement = np.where(clean, rng.uniform(0.85, 1.0, n), rng.uniform(0.25, 0.6, n))
    return Prediction(probs.astype(np.float32), np.ones(n, np.float32),
                      agreement.astype(np.float32)), y, clean


def test_no_temperature_is_honest_on_both_regimes_but_the_confidence_regression_is():
    pred, y, clean = two_regimes()
    right = pred.labels == y
    t = fit_temperature(pred.probs, y)
    tempered = pred.tempered(t)
    ece_t = [reliability(tempered.confidence[m], right[m])["ece"] for m in (clean, ~clean)]
    assert max(ece_t) > 0.2  # one temperature cannot serve both
    spec = fit_confidence(confidence_features(tempered.probs, tempered.distance,
                                              tempered.agreement), right)
    cal = tempered.calibrated(None, spec)
    assert np.array_equal(cal.labels, pred.labels)  # the labels never change
    ece = [reliability(cal.confidence[m], right[m])["ece"] for m in (clean, ~clean)]
    assert max(ece) < 0.08  # a smooth regression of a step: within a few points
    assert cal.confidence[clean].mean() > 0.85 and cal.confidence[~clean].mean() < 0.25


def test_features_and_regression_shapes():
    pred, _, _ = two_regimes(100)
    x = confidence_features(pred.probs, np.full(100, np.nan), None)  # no distance, one pass
    assert x.shape == (100, len(CONFIDENCE_FEATURES)) and np.isfinite(x).all()
    assert (x[:, 3] == 0).all() and (x[:, 4] == 1).all()
    spec = {"features": list(CONFIDENCE_FEATURES), "coef": [0.0] * 5, "intercept": 0.0}
    np.testing.assert_allclose(apply_confidence(spec, x), 0.5)
    with pytest.raises(ValueError, match="probs"):
        confidence_features(np.ones(5), np.ones(5))
    with pytest.raises(ValueError, match="features"):
        fit_confidence(np.ones((3, 5)), np.ones(4))


def test_symmetrized_predictions_report_how_many_passes_agree():
    model = load_model("conv-proto", device="cpu", symmetrize=True)
    rng = np.random.default_rng(1)
    crops = rng.random((6, 64, 64)).astype(np.float32)
    pred = model.predict(crops, calibrate=False)
    assert pred.agreement is not None and pred.agreement.shape == (6,)
    assert np.all((pred.agreement >= 1 / 8) & (pred.agreement <= 1))
    one = load_model("conv-proto", device="cpu", symmetrize=False).predict(crops, calibrate=False)
    assert one.agreement is None


def test_a_model_file_carries_its_confidence_regression(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(shipped_model_path("conv-proto"), folder)
    info = json.loads((folder / "model.json").read_text())
    spec = {"features": list(CONFIDENCE_FEATURES), "coef": [0.0, 0.0, 0.0, 0.0, 0.0],
            "intercept": float(np.log(0.3 / 0.7))}
    info["calibration"] = {"temperature": {"1": 1.0, "8": 1.0},
                           "confidence": {"1": spec, "8": spec}}
    (folder / "model.json").write_text(json.dumps(info))
    model = load_model(str(folder), device="cpu", symmetrize=False)
    crops = np.random.default_rng(2).random((4, 64, 64)).astype(np.float32)
    np.testing.assert_allclose(model.predict(crops).confidence, 0.3, rtol=1e-5)
    raw = model.predict(crops, calibrate=False)
    np.testing.assert_allclose(raw.confidence, raw.probs.max(1))
    info["calibration"]["confidence"]["8"] = {**spec, "coef": ["import os"] * 5}
    (folder / "model.json").write_text(json.dumps(info))
    with pytest.raises(ModelFileError, match="confidence calibration"):
        load_model(str(folder))


def test_the_shipped_confidence_means_the_probability_of_being_right_on_the_sample():
    """The bundled two-domain scan (crystals the calibration sets do not hold), through the
    pipeline ``ferromap predict`` runs."""
    from ferromap.data import sample_path
    from ferromap.io import open_4dstem
    from ferromap.io.sidecar import read_label_map
    from ferromap.pipelines.predict import predict_dataset
    from ferromap.training.evaluate import evaluate

    model = load_model("conv-proto", device="cpu")
    assert model.info.confidence_map(model.passes) is not None
    ev = evaluate(model, [str(sample_path("two-domain"))])
    assert ev.ece < 0.05 and abs(ev.mean_confidence - ev.accuracy) < 0.05
    maps = predict_dataset(open_4dstem(sample_path("two-domain")), model)
    truth = read_label_map(sample_path("two-domain"))
    wrong = maps.labels != truth
    assert maps.low_info.mean() < 0.05  # was two thirds of the scan before calibration
    assert maps.confidence[wrong].mean() < maps.confidence[~wrong].mean() - 0.1
