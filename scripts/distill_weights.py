"""Distil a model's eight-orientation average into a one-pass student (full accuracy at
one-pass cost).

    python scripts/distill_weights.py [--teacher src/ferromap/models/weights/conv-proto]
        [--bank data/bank] [--epochs 6] [--nuisances mild|experiment]
        [--out models/conv-proto-distilled]

Every epoch draws fresh scans of the bank's training entries (with mild nuisances by default:
where the teacher is right)
(:func:`ferromap.training.synthesis.synthesize`), turns every crop into a random one of the
crystal's eight orientations, and trains the student, one pass per crop, towards the
teacher's averaged probabilities (:func:`ferromap.training.distill.distill`). The student
starts as the teacher and keeps its input standardisation and prototypes. After each epoch
the student's agreement with the teacher is measured on fixed scans of the held-out bank
entries; the best epoch is kept. The model folder written predicts in one pass by default
and records its teacher, epochs and agreement.
"""

from __future__ import annotations

import argparse
import copy
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ferromap.classes import KNN8
from ferromap.models import load_model, save_model
from ferromap.models.store import LoadedModel
from ferromap.models.symmetry import augment_batch, usable_ops
from ferromap.training.distill import distill
from ferromap.training.synthesis import Nuisances, load_bank, synthesize
from ferromap.training.train import held_out

ROOT = Path(__file__).resolve().parents[1]


# Where the teacher is right: noise-free or well-exposed scans, a small source and PSF (the
# experiment-like ranges of ``Nuisances()`` are where it is at chance; imitating it there
# costs the student accuracy where it matters).
MILD = Nuisances(source_fwhm_A=(0.0, 0.3), psf_sigma_px=(0.0, 0.4), log10_dose=(4.5, 6.3),
                 p_noise_free=0.5, dark_counts=(0.0, 0.3), p_dark=0.2)
NUISANCES = {"mild": MILD, "experiment": Nuisances()}


def bank_crops(entries, seed, ops, nuisances, positions: int = 256):
    """Crops of new scans of ``entries``, each in a random orientation of the group."""
    crops, labels, _ = synthesize(entries, np.random.default_rng(seed), size=64,
                                  positions=positions, nuisances=nuisances)
    return augment_batch(crops, labels, ops, np.random.default_rng(seed + 1))


def agreement(student_net, teacher, crops: np.ndarray, teacher_labels: np.ndarray) -> float:
    one = LoadedModel(replace(teacher.info, symmetrize_default=False), student_net,
                      teacher.device, symmetrize=False)
    return float((one.predict(crops, calibrate=False).labels == teacher_labels).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--teacher", default=str(ROOT / "src/ferromap/models/weights/conv-proto"))
    ap.add_argument("--bank", default=str(ROOT / "data/bank"))
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--every", type=int, default=14, help="held-out bank entries: the last two "
                    "of every EVERY (as `ferromap train`)")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--nuisances", choices=NUISANCES, default="mild")
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--out", default=str(ROOT / "models/conv-proto-distilled"))
    args = ap.parse_args()
    teacher = load_model(args.teacher, device="cpu", precision="fp32", symmetrize=True)
    ops = usable_ops(teacher.info.symmetry, KNN8)
    paths = sorted(Path(args.bank).glob("entry-*.zarr"))
    index = [int(p.stem.split("-")[1]) for p in paths]
    train = load_bank(args.bank, [i for i in index if not held_out(i, args.every)])
    val = load_bank(args.bank, [i for i in index if held_out(i, args.every)])
    nuisances = NUISANCES[args.nuisances]
    xv, _ = bank_crops(val, args.seed + 99, ops, nuisances)
    tv = teacher.predict(xv, calibrate=False).labels
    print(f"{len(train)} training and {len(val)} held-out entries; {len(xv)} held-out crops")
    own = agreement(teacher.net, teacher, xv, tv)
    best = {"epoch": -1, "agreement": own}
    print(f"teacher's own one pass agrees with its average on {own:.4f}")
    best_net, history, student = copy.deepcopy(teacher.net), [], None
    for epoch in range(args.epochs):
        t = time.perf_counter()
        student = distill(teacher, lambda e, epoch=epoch: bank_crops(train, args.seed + epoch, ops,
                                                                  nuisances),
                          epochs=1, lr=args.lr, seed=args.seed + epoch, student=student)
        score = agreement(student, teacher, xv, tv)
        history.append({"epoch": epoch, "agreement": round(score, 4),
                        "seconds": round(time.perf_counter() - t, 1)})
        print(history[-1], flush=True)
        if score > best["agreement"]:
            best, best_net = {"epoch": epoch, "agreement": score}, copy.deepcopy(student)
    info = replace(teacher.info, symmetrize_default=False, calibration={},
                   training={**teacher.info.training, "distillation": {
                       "teacher": str(args.teacher), "bank": str(args.bank),
                       "nuisances": args.nuisances,
                       "held_out_agreement_with_teacher": round(best["agreement"], 4),
                       "teacher_one_pass_agreement": round(own, 4),
                       "best_epoch": best["epoch"], "history": history}})
    save_model(args.out, best_net.cpu(), info)
    print(f"student written to {args.out} (agreement {best['agreement']:.4f})")


if __name__ == "__main__":
    main()
