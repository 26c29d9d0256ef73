"""What averaging over the crystal's symmetry does, and why the centre of the operations matters.

    python benchmarks/symmetry_study.py [--model models/conv-proto-base] [--data data]

For a model (by default stage 1 of the shipped conv-proto, trained without the symmetry; it
is written by `make weights`) and each test set: the one-pass accuracy, the accuracy of each
of the 8 square-lattice operations (pattern transformed, prediction mapped back), and the
accuracy of the average over all 8, with the operations about pixel size/2 (where the crop
rule puts the beam, `ferromap.models.symmetry`) and, as the control, about the array's middle
(size-1)/2. Writes benchmarks/results/symmetry_<model>.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _common import save_result

from ferromap.models import load_model
from ferromap.models.symmetry import SymOp, symmetrized_predict, usable_ops
from ferromap.training.train import load_labelled

ROOT = Path(__file__).resolve().parents[1]
SETS = ["test-20nm", "test-20nm-unseen", "test-20nm-dose1e5", "test-50nm"]


class MiddleOp(SymOp):
    """The same operation about the array's middle (size-1)/2: plain flips and transposes."""

    def apply(self, crops: np.ndarray) -> np.ndarray:
        (a, b), (_, d) = self.matrix
        out = crops
        if a == 0:
            out = np.swapaxes(out, -1, -2)
            a, d = -b, -self.matrix[1][0]
        if a == -1:
            out = np.flip(out, -1)
        if d == -1:
            out = np.flip(out, -2)
        return out


def scores(model, crops: np.ndarray, truth: np.ndarray, ops) -> dict:
    per_op = {}
    for op, perm in ops:
        pred = model.predict(np.ascontiguousarray(op.apply(crops))).labels
        per_op[op.name] = round(float((np.argsort(perm)[pred] == truth).mean()), 4)
    mean = symmetrized_predict(model.predict, crops, ops).labels
    return {"per_operation": per_op, "averaged": round(float((mean == truth).mean()), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=str(ROOT / "models" / "conv-proto-base"))
    ap.add_argument("--data", default=str(ROOT / "data"))
    args = ap.parse_args()
    model = load_model(args.model, device="cpu", symmetrize=False)
    about_centre = usable_ops("d4", model.info.classes)
    about_middle = [(MiddleOp(op.name, op.matrix), p) for op, p in about_centre]
    result = {"model": str(args.model), "model_symmetry": model.info.symmetry}
    for name in SETS:
        path = Path(args.data) / f"{name}.zarr"
        if not path.exists():
            continue
        data = load_labelled([str(path)], size=model.info.crop_size,
                             model_mrad_per_px=model.info.mrad_per_px)
        one = model.predict(data.crops).labels
        result[name] = {"one_pass": round(float((one == data.labels).mean()), 4),
                        "about_size_over_2": scores(model, data.crops, data.labels, about_centre),
                        "about_middle": scores(model, data.crops, data.labels, about_middle)}
        r = result[name]
        print(f"{name}: one pass {r['one_pass']:.3f}, averaged about size/2 "
              f"{r['about_size_over_2']['averaged']:.3f}, about (size-1)/2 "
              f"{r['about_middle']['averaged']:.3f}", flush=True)
    save_result(f"symmetry_{Path(args.model).name}", result)


if __name__ == "__main__":
    main()
