"""Regenerate the bundled sample data in src/ferromap/data/samples/ (seeded; about a minute).

    python scripts/make_sample_data.py

knn_two_domain.zarr: 32×48 positions, a vertical 90° domain wall (MU left, RM right),
    20 nm, 1e5 e-/pattern, uint16, with the truth map as labels.
knn_single_ru.zarr: 16×16 positions of one RU domain, 20 nm, 1e5 e-/pattern.
"""

from __future__ import annotations

from pathlib import Path

from ferromap.cli import StderrProgress
from ferromap.io.dataset import Calibration
from ferromap.io.save import save_4dstem
from ferromap.simulate.recipes import Recipe, simulate_recipe, simulate_two_domain

OUT = Path(__file__).resolve().parents[1] / "src" / "ferromap" / "data" / "samples"


def main() -> None:
    data, truth, meta = simulate_two_domain("MU", "RM", progress=StderrProgress("two-domain"))
    cal = Calibration(meta["mrad_per_px"], meta["scan_step_nm"], 200.0)
    save_4dstem(OUT / "knn_two_domain.zarr", data, calibration=cal, labels=truth, metadata=meta)
    single = Recipe("sample-single-ru", directions=("RU",), dose=1e5, seed=5)
    data, labels, meta = simulate_recipe(single, progress=StderrProgress("single RU"))
    save_4dstem(OUT / "knn_single_ru.zarr", data, calibration=cal, labels=labels, metadata=meta)
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
