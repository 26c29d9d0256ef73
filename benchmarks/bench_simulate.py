"""Simulation speed: the training recipe (8 directions × 32×32 positions, 20 nm) on this CPU.

    python benchmarks/bench_simulate.py [--directions 8]

Reference in the same run: abTEM with its defaults (lazy potential, max_batch="auto",
GridScan) on one direction at the same settings, so the printed speed-up shows what building
the potential once and max_batch=64 buy. Target: the whole recipe in <= 180 s.
"""

from __future__ import annotations

import argparse
import time

from _common import save_result

from ferromap.simulate.crystal import KNNCrystal
from ferromap.simulate.fourdstem import Microscope
from ferromap.simulate.recipes import TRAINING, simulate_recipe


def reference_one_direction(n_positions: int) -> float:
    import abtem

    crystal = KNNCrystal.with_thickness(20.0, direction="RM")
    potential = abtem.Potential(crystal.atoms(), gpts=100, slice_thickness=crystal.a / 2)
    probe = abtem.Probe(energy=200e3, semiangle_cutoff=24)
    scan = abtem.GridScan((0, 0), (crystal.extent, crystal.extent), gpts=TRAINING.scan)
    t = time.perf_counter()
    probe.scan(potential, scan=scan, detectors=abtem.PixelatedDetector(max_angle="cutoff")
               ).compute(progress_bar=False)
    return (time.perf_counter() - t) / (TRAINING.scan[0] * TRAINING.scan[1]) * n_positions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--directions", type=int, default=8)
    args = ap.parse_args()
    from dataclasses import replace

    recipe = replace(TRAINING, directions=TRAINING.directions[: args.directions])
    n = recipe.scan[0] * recipe.scan[1] * len(recipe.directions)
    t = time.perf_counter()
    data, _, _ = simulate_recipe(recipe, Microscope())
    seconds = time.perf_counter() - t
    ref = reference_one_direction(n)
    save_result("simulate", {
        "recipe": f"{len(recipe.directions)} directions × {recipe.scan[0]}×{recipe.scan[1]} "
                  f"positions, 20 nm, 2×2 cells, 64×64 patterns",
        "seconds": round(seconds, 1), "positions_per_s": round(n / seconds, 1),
        "abtem_defaults_seconds_same_positions": round(ref, 1),
        "speedup_vs_abtem_defaults": round(ref / seconds, 2), "target_seconds": 180,
    })


if __name__ == "__main__":
    main()
