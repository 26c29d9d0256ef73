"""Regenerate the project's simulated data sets (seeded, reproducible).

    python scripts/make_datasets.py [--out data] [--group suite calibration bank bank-mild legacy]
                                    [--bank 80]
                                    [--only NAME ...] [--force]

* ``suite``: the experiment-like evaluation suite (ferromap.simulate.recipes.SUITE), about an
  hour on 2 CPU cores;
* ``calibration``: validation sets for the confidence calibration
  (ferromap.simulate.recipes.CALIBRATION; other crystals and nuisance levels than the suite);
* ``bank``: the training bank (ferromap.simulate.bank), ``--bank`` entries of about 2 minutes
  each on 2 CPU cores, written as DIR/bank/entry-NNNN.zarr;
* ``bank-mild``: the same number of entries of the mild bank (an aligned instrument,
  ``ferromap.simulate.bank.MILD``; about 1 minute each), written as DIR/bank-mild/;
* ``legacy``: the earlier training and test sets (ferromap.simulate.recipes.RECIPES).

Every set becomes a ``.zarr`` with data, labels, calibration and metadata. Sets that exist
are skipped (``--force`` rebuilds them), so an interrupted run resumes where it stopped.
A noisy copy of another recipe's crystal (``noise_seed``) reuses that recipe's noise-free set.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from ferromap.cli import StderrProgress
from ferromap.io import open_4dstem
from ferromap.io.dataset import Calibration
from ferromap.io.save import save_4dstem
from ferromap.io.sidecar import read_label_map
from ferromap.simulate.bank import MILD, WIDE, BankSpread, bank_entry, simulate_bank_entry
from ferromap.simulate.recipes import CALIBRATION, RECIPES, SUITE, Recipe, simulate_recipe


def noisy_copy(recipe: Recipe, recipes: dict[str, Recipe], out: Path):
    """``(data, labels, metadata)`` from an already built noise-free twin in ``recipes``, or
    ``None``."""
    if recipe.noise_seed is None:
        return None
    for other in recipes.values():
        twin = out / f"{other.name}.zarr"
        if replace(recipe.noise_free(), name=other.name) == other and twin.exists():
            ds = open_4dstem(twin)
            meta = {**ds.metadata, "recipe": recipe.name, "dose": recipe.dose}
            return recipe.add_noise(ds.data.compute()), read_label_map(twin), meta
    return None


def _save(path: Path, built, t0: float) -> None:
    data, labels, meta = built
    cal = Calibration(meta["mrad_per_px"], meta["scan_step_nm"], 200.0)
    save_4dstem(path, data, calibration=cal, labels=labels, metadata=meta)
    print(f"{path}: {data.shape} {data.dtype} in {time.perf_counter() - t0:.0f} s", flush=True)


def build_recipes(recipes: dict[str, Recipe], out: Path, only, force: bool) -> None:
    for name in only or recipes:
        if name not in recipes:
            continue
        path = out / f"{name}.zarr"
        if path.exists() and not force:
            print(f"{path} exists, skipped")
            continue
        t0 = time.perf_counter()
        built = noisy_copy(recipes[name], recipes, out)
        _save(path, built or simulate_recipe(recipes[name], progress=StderrProgress(name)), t0)


def build_bank(n: int, out: Path, force: bool, spread: BankSpread = WIDE) -> None:
    folder = out / ("bank" if spread is WIDE else f"bank-{spread.name}")
    for index in range(n):
        path = folder / f"entry-{index:04d}.zarr"
        if path.exists() and not force:
            continue
        t0 = time.perf_counter()
        entry = bank_entry(index, spread)
        _save(path, simulate_bank_entry(entry, progress=StderrProgress(f"bank {index}")), t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="data")
    ap.add_argument("--group", nargs="*", default=["suite", "bank"],
                    choices=["suite", "calibration", "bank", "bank-mild", "legacy"])
    ap.add_argument("--bank", type=int, default=80, help="training bank entries")
    ap.add_argument("--only", nargs="*", help="recipe names to build (suite or legacy)")
    ap.add_argument("--force", action="store_true", help="rebuild existing sets")
    args = ap.parse_args()
    out = Path(args.out)
    for group in args.group:
        if group == "suite":
            build_recipes(SUITE, out, args.only, args.force)
        elif group == "calibration":
            build_recipes(CALIBRATION, out, args.only, args.force)
        elif group == "legacy":
            build_recipes(RECIPES, out, args.only, args.force)
        elif group == "bank-mild":
            build_bank(args.bank, out, args.force, MILD)
        else:
            build_bank(args.bank, out, args.force)


if __name__ == "__main__":
    main()
