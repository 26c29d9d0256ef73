"""Why the shipped Conv model has an input layer and no Gaussian noise: short training runs.

    python benchmarks/ablation_training.py [--data data]   (writes docs/ablation.md)

Each variant trains Conv (Proto) (rank-64 projection) on at most 4,000 patterns of the 20 nm
training set for 3 epochs, seed 888, and is scored on the offset 20 nm test set. Chance is
12.5 %. About 5 minutes on 2 CPU cores; needs `make datasets`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ferromap.training.config import TrainConfig
from ferromap.training.train import load_labelled, train_model

ROOT = Path(__file__).resolve().parents[1]
NO_AUG = {"p_blur": 0, "p_brightness_contrast": 0, "p_gauss_noise": 0, "p_shot_noise": 0,
          "p_descan": 0}
VARIANTS = {
    "min-max crops only (the paper's input), no augmentation": dict(input_norm="none",
                                                                   augment=False),
    "input standardisation of sqrt(crop), no augmentation": dict(augment=False),
    "standardisation + default augmentation (no Gaussian noise)": dict(augment=True),
    "standardisation + default augmentation + GaussNoise p=0.2, std 1-5 %": dict(
        augment=True, augment_params={"p_gauss_noise": 0.2}),
    "standardisation + GaussNoise only, p=0.2, std 0.2-1 %": dict(
        augment=True, augment_params={**NO_AUG, "p_gauss_noise": 0.2,
                                      "gauss_noise_std": (0.002, 0.01)}),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(ROOT / "data"))
    args = ap.parse_args()
    train = load_labelled([str(Path(args.data) / "train-20nm.zarr")])
    test = load_labelled([str(Path(args.data) / "test-20nm.zarr")])
    lines = ["# Training ablation (benchmarks/ablation_training.py)", "",
             f"{time.strftime('%Y-%m-%d')}, 2 CPU cores. Conv (Proto), rank-64 projection, "
             "≤ 4,000 patterns of train-20nm, 3 epochs, seed 888; accuracy on the offset "
             "test-20nm set (chance 12.5 %).", "",
             "| variant | validation accuracy | test-20nm accuracy |", "|---|---|---|"]
    for name, kw in VARIANTS.items():
        cfg = TrainConfig(train=[], model="conv", head="prototype", filter=False, seed=888,
                          epochs=3, max_train=4000, encoder_kwargs={"projection_rank": 64},
                          **kw)
        model, record = train_model(cfg, train)
        acc = float((model.predict(test.crops).labels == test.labels).mean())
        lines.append(f"| {name} | {100 * record['val_accuracy']:.1f} % | {100 * acc:.1f} % |")
        print(lines[-1], flush=True)
    (ROOT / "docs" / "ablation.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
