"""Anomaly highlights on the simulated oxygen-vacancy set versus the same crystal without it.

    python benchmarks/bench_anomaly.py [--data data] [--model conv-proto]

Both sets: RD, 20 nm, 4×4-cell box, 32×32 positions (`make datasets`). Reports whether the
anomaly mask contains a position within one scan step of the vacancy's Nb–O column, the
anomaly score there, and the fraction of positions highlighted on each set.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _common import save_result

from ferromap.inference import predict_dataset
from ferromap.io import open_4dstem
from ferromap.models import load_model
from ferromap.simulate.recipes import RECIPES, vacancy_scan_position

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(ROOT / "data"))
    ap.add_argument("--model", default="conv-proto")
    args = ap.parse_args()
    model = load_model(args.model, device="cpu")
    vac = predict_dataset(open_4dstem(Path(args.data) / "test-vacancy.zarr"), model)
    pristine = predict_dataset(open_4dstem(Path(args.data) / "test-pristine-rd.zarr"), model)
    r, c = vacancy_scan_position(RECIPES["test-vacancy"])
    rows, cols = np.mgrid[0:32, 0:32]
    near = np.hypot(rows - r, cols - c) <= 1.5
    save_result(f"anomaly_{args.model}", {
        "vacancy_position_row_col": [round(r, 2), round(c, 2)],
        "vacancy_in_mask": bool(vac.anomaly_mask[near].any()),
        "max_score_near_vacancy": round(float(vac.anomaly[near].max()), 3),
        "mask_fraction_vacancy_set": round(float(vac.anomaly_mask.mean()), 4),
        "mask_fraction_pristine_set": round(float(pristine.anomaly_mask.mean()), 4),
        "accuracy_vacancy_set_informative": round(float(
            (vac.labels == 7)[~vac.low_info].mean()), 3),
    })


if __name__ == "__main__":
    main()
