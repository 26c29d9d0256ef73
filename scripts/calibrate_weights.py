"""Fit a model's confidence calibration on held-out validation scans and store it in its file.

    python scripts/calibrate_weights.py [--model src/ferromap/models/weights/conv-proto]
        [--data data] [--sets cal-clean cal-12nm ...]

The validation scans are the ``calibration`` group of ``scripts/make_datasets.py``
(:data:`ferromap.simulate.recipes.CALIBRATION`): the suite's design on other crystals, at
another grid offset, with other levels of every nuisance, so the suite stays a test. Every
scan is cropped as ``ferromap predict`` crops it. For each number of passes the model
predicts with (one, and its symmetry group's), the script fits

1. the temperature of the class probabilities (minimum negative log-likelihood), then
2. the probability that the label is right, a logistic regression on what the model says
   about each pattern (:data:`ferromap.models.calibration.CONFIDENCE_FEATURES`),

and writes both into ``model.json`` (plain numbers; the weights are not touched), with the
sets, their sizes and the in-sample calibration error of each set.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ferromap.errors import FerromapError
from ferromap.io.writers import atomic_path
from ferromap.models import load_model
from ferromap.models.calibration import fit_calibration
from ferromap.models.prediction import Prediction
from ferromap.simulate.recipes import CALIBRATION
from ferromap.training.evaluate import reliability
from ferromap.training.train import load_labelled

ROOT = Path(__file__).resolve().parents[1]


def scan_set_predictions(model, path: Path) -> tuple[Prediction, np.ndarray]:
    """A scan-context model's uncalibrated predictions of every scan of a labelled set,
    each scan read on its own as ``ferromap predict`` reads it."""
    from ferromap.io import open_4dstem
    from ferromap.io.sidecar import read_label_map
    from ferromap.pipelines.predict import context_prediction, prepare

    ds, labels = open_4dstem(path), read_label_map(path)
    preds, truth = [], []
    for rows, cols in ds.scans():
        scan, geometry, _ = prepare(ds.subscan(rows, cols), model)
        preds.append(context_prediction(scan, model, geometry, calibrate=False)[0])
        truth.append(labels[rows, cols].ravel().astype(np.int64))
    return Prediction.concat(preds), np.concatenate(truth)


def set_predictions(model_path: str, paths: list[Path]) -> dict:
    """``{passes: {set: (Prediction, labels)}}`` uncalibrated, for one and all passes."""
    out = {}
    for symmetrize in (False, True):
        model = load_model(model_path, device="cpu", precision="fp32", symmetrize=symmetrize)
        if model.passes in out:
            continue
        rows = {}
        for p in paths:
            if model.reads_scans:
                rows[p.stem] = scan_set_predictions(model, p)
            else:
                d = load_labelled([str(p)], size=model.info.crop_size,
                                  model_mrad_per_px=model.info.mrad_per_px)
                rows[p.stem] = (model.predict(d.crops, calibrate=False), d.labels)
            y = rows[p.stem][1]
            print(f"{model.passes} pass(es) {p.stem}: accuracy "
                  f"{(rows[p.stem][0].labels == y).mean():.3f}", flush=True)
        out[model.passes] = rows
    return out


def fit_passes(rows: dict) -> tuple[float, dict, dict]:
    """Temperature, confidence regression and per-set in-sample ECE for one pass count."""
    whole = Prediction.concat([pred for pred, _ in rows.values()])
    temperature, spec = fit_calibration(whole, np.concatenate([y for _, y in rows.values()]))
    ece = {}
    for name, (pred, y) in rows.items():
        cal = pred.calibrated(temperature, spec)
        ece[name] = round(reliability(cal.confidence, cal.labels == y)["ece"], 4)
    return temperature, spec, ece


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=str(ROOT / "src/ferromap/models/weights/conv-proto"))
    ap.add_argument("--data", default=str(ROOT / "data"))
    ap.add_argument("--sets", nargs="*", default=list(CALIBRATION))
    args = ap.parse_args()
    try:
        calibrate(args)
    except FerromapError as exc:
        raise SystemExit(f"calibrate_weights: {exc}") from None


def calibrate(args) -> None:
    paths = [Path(args.data) / f"{s}.zarr" for s in args.sets]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise SystemExit(f"calibrate_weights: missing {', '.join(missing)}: run python "
                         "scripts/make_datasets.py --group calibration")
    calibration = {"temperature": {}, "confidence": {}, "in_sample_ece": {}}
    preds = set_predictions(args.model, paths)
    for passes, rows in preds.items():
        temperature, spec, ece = fit_passes(rows)
        calibration["temperature"][str(passes)] = round(temperature, 5)
        calibration["confidence"][str(passes)] = spec
        calibration["in_sample_ece"][str(passes)] = ece
        print(f"{passes} pass(es): T = {temperature:.4f}; in-sample ECE {ece}", flush=True)
    first = next(iter(preds.values()))
    calibration["fitted_on"] = {"script": "scripts/calibrate_weights.py",
                                "patterns": {name: int(len(y)) for name, (_, y) in first.items()}}
    model_json = Path(args.model) / "model.json"
    info = json.loads(model_json.read_text())
    info["calibration"] = calibration
    with atomic_path(model_json) as tmp:
        tmp.write_text(json.dumps(info, indent=2) + "\n")
    load_model(args.model)  # the file still loads, with its new calibration
    print(f"calibration written to {model_json}")


if __name__ == "__main__":
    main()
