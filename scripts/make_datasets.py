"""Regenerate the project's simulated training and test sets (seeded, reproducible).

    python scripts/make_datasets.py [--out data] [--only train-20nm test-20nm ...]

Each recipe of ferromap.simulate.recipes.RECIPES becomes DIR/NAME.zarr (data, labels,
calibration, metadata). Noisy test sets are simulated noise-free and then given Poisson
noise with their recipe's seed. About 10 minutes for all of them on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ferromap.cli import StderrProgress
from ferromap.io.dataset import Calibration
from ferromap.io.save import save_4dstem
from ferromap.simulate.recipes import RECIPES, simulate_recipe


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="data")
    ap.add_argument("--only", nargs="*", choices=sorted(RECIPES), help="recipes to build")
    ap.add_argument("--force", action="store_true", help="rebuild existing sets")
    args = ap.parse_args()
    out = Path(args.out)
    for name in args.only or RECIPES:
        path = out / f"{name}.zarr"
        if path.exists() and not args.force:
            print(f"{path} exists, skipped")
            continue
        t = time.perf_counter()
        data, labels, meta = simulate_recipe(RECIPES[name], progress=StderrProgress(name))
        cal = Calibration(meta["mrad_per_px"], meta["scan_step_nm"], 200.0)
        save_4dstem(path, data, calibration=cal, labels=labels, metadata=meta)
        print(f"{path}: {data.shape} {data.dtype} in {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
