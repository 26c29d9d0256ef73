"""Anomaly highlights on the simulated oxygen-vacancy set versus the same crystal without it.

    python benchmarks/bench_anomaly.py [--data data] [--model conv-proto] [--pair suite|legacy]

Both sets: RD, 20 nm, 4×4-cell box, 32×32 positions, noise-free and as Poisson counts at 1e6
and 1e5 e⁻/pattern: ``suite`` is the evaluation suite's pair (``suite-vacancy`` /
``suite-pristine``, a crystal no model trained on), ``legacy`` the earlier pair
(``test-vacancy`` / ``test-pristine-rd``, ``make_datasets.py --group legacy --only ...``).
Reports whether the anomaly mask contains a position within 1.5 scan steps of the vacancy's
Nb–O column, the anomaly score and the lattice-periodic residual z-score there (and its
largest value elsewhere), and the fraction of positions highlighted on the pristine set and
on the vacancy set away from the vacancy. Target: <= 5 % of the pristine scan, the vacancy
found noise-free and at 1e6.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import dask.array as da
import numpy as np
from _common import save_result

from ferromap.io import Dataset4D, open_4dstem
from ferromap.models import load_model
from ferromap.pipelines.predict import predict_dataset
from ferromap.simulate.detector import apply_detector
from ferromap.simulate.recipes import RECIPES, SUITE, vacancy_scan_position

PAIRS = {"suite": ("suite-vacancy", "suite-pristine", SUITE),
         "legacy": ("test-vacancy", "test-pristine-rd", RECIPES)}

ROOT = Path(__file__).resolve().parents[1]


def noisy(ds, dose: float | None):
    """The dataset itself, or Poisson counts of it at ``dose`` electrons per pattern."""
    if dose is None:
        return ds
    counts = apply_detector(ds.data.compute(), dose=dose, seed=7)
    return Dataset4D(da.from_array(counts, chunks=(8, 32, 64, 64)), ds.calibration, ds.source)


def vacancy_change(data: Path, names: tuple[str, str]) -> dict:
    """How much the vacancy changes the patterns: L1 difference between the two noise-free
    sets (same crystal otherwise) relative to the pattern's intensity."""
    vac, pristine = (open_4dstem(data / f"{n}.zarr").data.compute().astype(np.float64)
                     for n in names)
    change = np.abs(vac - pristine).sum(axis=(2, 3)) / pristine.sum(axis=(2, 3))
    where = np.unravel_index(change.argmax(), change.shape)
    return {"largest_relative_l1_change": round(float(change.max()), 4),
            "at_row_col": [int(v) for v in where],
            "median_relative_l1_change": round(float(np.median(change)), 6)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(ROOT / "data"))
    ap.add_argument("--model", default="conv-proto")
    ap.add_argument("--pair", default="suite", choices=sorted(PAIRS))
    args = ap.parse_args()
    model = load_model(args.model, device="cpu")
    vac_name, pristine_name, recipes = PAIRS[args.pair]
    r, c = vacancy_scan_position(recipes[vac_name])
    rows, cols = np.mgrid[0:32, 0:32]
    near = np.hypot(rows - r, cols - c) <= 1.5
    result = {"pair": [vac_name, pristine_name], "vacancy_position_row_col": [round(r, 2),
                                                                             round(c, 2)],
              **vacancy_change(Path(args.data), (vac_name, pristine_name))}
    for dose in (None, 1e6, 1e5):
        vac, pristine = (predict_dataset(noisy(open_4dstem(Path(args.data) / f"{name}.zarr"),
                                               dose), model)
                         for name in (vac_name, pristine_name))
        z = vac.periodic_z if vac.periodic_z is not None else np.full(near.shape, np.nan)
        result[f"dose {dose or 'noise-free'}"] = {
            "vacancy_in_mask": bool(vac.anomaly_mask[near].any()),
            "max_score_near_vacancy": round(float(vac.anomaly[near].max()), 3),
            "lattice_residual_z_near_vacancy": round(float(np.nanmax(z[near])), 1),
            "lattice_residual_z_max_elsewhere": round(float(np.nanmax(z[~near])), 1),
            "lattice": vac.extra["lattice"],
            "mask_fraction_vacancy_set": round(float(vac.anomaly_mask.mean()), 4),
            "mask_fraction_away_from_vacancy": round(float(vac.anomaly_mask[~near].mean()), 4),
            "mask_fraction_pristine_set": round(float(pristine.anomaly_mask.mean()), 4),
            "accuracy_vacancy_set_informative": round(float(
                (vac.labels == 7)[~vac.low_info].mean()), 3)}
    save_result(f"anomaly_{args.pair}_{Path(args.model).name}", result)


if __name__ == "__main__":
    main()
