"""What averaging over the crystal's symmetry does, and why the centre of the operations matters.

    python benchmarks/symmetry_study.py [--model models/conv-proto-base] [--data data]

For a model (by default stage 1 of the shipped conv-proto, trained without the symmetry; it
is written by `make weights`) and each test set: the one-pass accuracy, the accuracy of each
of the 8 square-lattice operations (pattern transformed, prediction mapped back), and the
accuracy of the average over all 8, with the operations about pixel size/2 (where the crop
rule puts the beam, `ferromap.models.symmetry`) and, as the control, about the array's middle
(size-1)/2. With --descan, also the shipped conv-proto in one pass and averaged on
test-20nm with every pattern shifted by a uniform descan of 0.5 and 1 px (row and col),
i.e. with the beam off the crop centre the operations act about.
Writes benchmarks/results/symmetry_<model>.json.
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
    """The same operation about the array's middle (size-1)/2: plain flips."""

    flip = staticmethod(np.flip)


def scores(model, crops: np.ndarray, truth: np.ndarray, ops) -> dict:
    per_op = {}
    for op, perm in ops:
        pred = model.predict(np.ascontiguousarray(op.apply(crops))).labels
        per_op[op.name] = round(float((np.argsort(perm)[pred] == truth).mean()), 4)
    mean = symmetrized_predict(model.predict, crops, ops).labels
    return {"per_operation": per_op, "averaged": round(float((mean == truth).mean()), 4)}


def descan_rows(data_dir: Path) -> dict:
    """Shipped conv-proto, one pass and averaged, with the beam moved off the crop centre."""
    from scipy.ndimage import shift

    from ferromap.core.crop import minmax_normalize

    out = {}
    for symmetrize in (False, True):
        model = load_model("conv-proto", device="cpu", symmetrize=symmetrize)
        data = load_labelled([str(data_dir / "test-20nm.zarr")], size=model.info.crop_size,
                             model_mrad_per_px=model.info.mrad_per_px)
        for px in (0.0, 0.5, 1.0):
            crops = np.stack([minmax_normalize(shift(c, (px, px), order=1, mode="nearest"))
                              for c in data.crops]) if px else data.crops
            acc = float((model.predict(crops).labels == data.labels).mean())
            out[f"{'averaged' if symmetrize else 'one_pass'}_descan_{px}px"] = round(acc, 4)
            print(f"conv-proto {'averaged' if symmetrize else 'one pass'}, descan {px} px: "
                  f"{acc:.3f}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=str(ROOT / "models" / "conv-proto-base"))
    ap.add_argument("--data", default=str(ROOT / "data"))
    ap.add_argument("--descan", action="store_true", help="also the descan rows (see above)")
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
    if args.descan:
        result["shipped_conv-proto_test-20nm"] = descan_rows(Path(args.data))
    save_result(f"symmetry_{Path(args.model).name}", result)


if __name__ == "__main__":
    main()
