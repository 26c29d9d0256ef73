"""Why the shipped Conv model is trained the way it is: short training runs.

    python benchmarks/ablation_training.py [--data data]   (writes docs/ablation.md)

Each variant trains Conv (Proto) (rank-64 projection) on at most 4,000 patterns for 3 epochs,
seed 888, and is scored on offset 20 nm test sets (chance 12.5 %):

1. input layer and Gaussian noise, on train-20nm (exact grid, the K/Na occupation of
   test-20nm);
2. which training crystal and positions: train-20nm against train-20nm-jitter (jittered
   positions, another occupation), scored on test-20nm (train-20nm's crystal) and on
   test-20nm-unseen (a crystal neither saw), then the jittered scans with their noisy copies
   at 1e5 and 3e4 e⁻/pattern, scored on test-20nm-dose1e5 as well.

About 10 minutes on 2 CPU cores; needs `make datasets`.
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path

from ferromap.training.config import TrainConfig
from ferromap.training.train import load_labelled, train_model

ROOT = Path(__file__).resolve().parents[1]
NO_AUG = {"p_blur": 0, "p_brightness_contrast": 0, "p_gauss_noise": 0, "p_shot_noise": 0,
          "p_descan": 0}
JITTER = ["train-20nm-jitter"]
JITTER_NOISY = JITTER + ["train-20nm-jitter-dose1e5", "train-20nm-jitter-dose3e4"]
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
    "standardisation, no augmentation, jittered scans of another crystal": dict(
        augment=False, train=JITTER),
    "standardisation, no augmentation, jittered scans + their 1e5 and 3e4 noisy copies": dict(
        augment=False, train=JITTER_NOISY),
}
TESTS = ["test-20nm", "test-20nm-unseen", "test-20nm-dose1e5"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(ROOT / "data"))
    args = ap.parse_args()
    data = Path(args.data)
    @functools.cache
    def load(names: tuple[str, ...]):  # each training set is cropped once
        return load_labelled([str(data / f"{n}.zarr") for n in names])

    tests = {t: load((t,)) for t in TESTS}
    lines = ["# Training ablation (benchmarks/ablation_training.py)", "",
             f"{time.strftime('%Y-%m-%d')}, 2 CPU cores. Conv (Proto), rank-64 projection, "
             "≤ 4,000 training patterns (train-20nm unless named), 3 epochs, seed 888; "
             "accuracy on offset test sets (chance 12.5 %). test-20nm has the K/Na occupation "
             "of train-20nm; test-20nm-unseen and test-20nm-dose1e5 have one no training set "
             "has.", "",
             "| variant | validation | " + " | ".join(TESTS) + " |", "|---|---|---|---|---|"]
    for name, kw in VARIANTS.items():
        kw = dict(kw)
        train = load(tuple(kw.pop("train", ["train-20nm"])))
        cfg = TrainConfig(train=[], model="conv", head="prototype", filter=False, seed=888,
                          epochs=3, max_train=4000, encoder_kwargs={"projection_rank": 64},
                          **kw)
        model, record = train_model(cfg, train)
        accs = [float((model.predict(d.crops).labels == d.labels).mean()) for d in tests.values()]
        lines.append(f"| {name} | {100 * record['val_accuracy']:.1f} % | "
                     + " | ".join(f"{100 * a:.1f} %" for a in accs) + " |")
        print(lines[-1], flush=True)
    (ROOT / "docs" / "ablation.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
