"""Full accuracy at one-pass cost? The shipped model's eight-orientation average against ways
of paying less than eight passes, on our own test sets, in one run.

    python benchmarks/one_pass_study.py [--student NAME=PATH ...] [--sets suite-clean ...]

For every set (``data/suite-*.zarr`` present), the crops are made once, as ``ferromap
predict`` makes them (descan surface, sub-pixel crop, resampled to the model's mrad/px), and
scored with:

* the teacher (the shipped conv-proto) in one pass and averaged over the 8 orientations;
* averaging only where one pass is unsure: the given fraction of crops with the smallest
  margin between the two most probable classes get the 8-orientation average
  (cost 1 + 7 × fraction passes);
* each distilled one-pass student (``scripts/distill_weights.py``).

Also measured in the same run: crops per second of one pass and of the average, on the
first set's crops. Writes ``benchmarks/results/one_pass_study.json`` and its table into
docs/benchmark.md (between markers); ``--table-only`` rebuilds the table from the JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _common import RESULTS, replace_block, save_result

from ferromap.models import load_model
from ferromap.training.train import load_labelled

ROOT = Path(__file__).resolve().parents[1]
SETS = ["suite-clean", "suite-16nm", "suite-24nm", "suite-50nm", "suite-dose1e5",
        "suite-dose1e4-dark", "suite-mrad2.1", "suite-descan", "suite-tilt1mrad",
        "suite-defocus3nm", "suite-tds", "suite-source-psf-1e5", "suite-experiment"]
FRACTIONS = (0.1, 0.2, 0.3)
BEGIN, END = "<!-- one-pass table: begin -->", "<!-- one-pass table: end -->"


def gated(one, average, fraction: float) -> np.ndarray:
    """Labels: one pass, except the ``fraction`` least sure crops, which get the average."""
    top = np.sort(one.probs, axis=1)
    margin = top[:, -1] - top[:, -2]
    redo = margin <= np.quantile(margin, fraction)
    return np.where(redo, average.labels, one.labels)


def rate(model, crops: np.ndarray) -> float:
    model.predict(crops[:256], calibrate=False)  # warm-up
    t = time.perf_counter()
    model.predict(crops, calibrate=False)
    return len(crops) / (time.perf_counter() - t)


def table(result: dict) -> str:
    """Markdown: per-pattern accuracy per set and method, with each method's passes."""
    students = list(result["students"])
    cols = [("one_pass", "one pass", "1"), ("eight_orientations", "8 orientations", "8")]
    cols += [(f"gated_{f}", f"8 where unsure ({100 * float(f):.0f} %)", f"{c}")
             for f, c in result["gated_cost_passes"].items()]
    cols += [(s, f"student {s}", "1") for s in students]
    lines = ["| set | " + " | ".join(f"{name} ({cost} pass{'' if cost == '1' else 'es'})"
                                     for _, name, cost in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for name, row in result["sets"].items():
        lines.append(f"| {name} | " + " | ".join(f"{100 * row[k]:.1f} %" for k, _, _ in cols)
                     + " |")
    lines.append("")
    lines.append(f"Crops per second on this machine, same run: one pass "
                 f"{result['one_pass_crops_per_s']}, eight orientations "
                 f"{result['eight_orientations_crops_per_s']}. "
                 f"`python benchmarks/one_pass_study.py`, measured {result['date']}.")
    return "\n".join(lines)


def write_docs(result: dict) -> None:
    doc = ROOT / "docs" / "benchmark.md"
    text = replace_block(doc.read_text(), BEGIN, END, table(result))
    if text is not None:
        doc.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--teacher", default="conv-proto")
    ap.add_argument("--student", action="append", default=[], help="NAME=PATH (repeatable)")
    ap.add_argument("--data", default=str(ROOT / "data"))
    ap.add_argument("--sets", nargs="*", default=SETS)
    ap.add_argument("--table-only", action="store_true")
    args = ap.parse_args()
    if args.table_only:
        write_docs(json.loads((RESULTS / "one_pass_study.json").read_text()))
        return
    one = load_model(args.teacher, device="cpu", symmetrize=False)
    eight = load_model(args.teacher, device="cpu", symmetrize=True)
    students = {n: load_model(p, device="cpu", symmetrize=False)
                for n, p in (s.split("=", 1) for s in args.student)}
    rows, speed = {}, {}
    for name in args.sets:
        path = Path(args.data) / f"{name}.zarr"
        if not path.exists():
            continue
        d = load_labelled([str(path)], size=one.info.crop_size,
                          model_mrad_per_px=one.info.mrad_per_px)
        p1, p8 = one.predict(d.crops, calibrate=False), eight.predict(d.crops, calibrate=False)
        row = {"n": int(len(d.labels)), "one_pass": float((p1.labels == d.labels).mean()),
               "eight_orientations": float((p8.labels == d.labels).mean())}
        for f in FRACTIONS:
            row[f"gated_{f:.1f}"] = float((gated(p1, p8, f) == d.labels).mean())
        for sname, model in students.items():
            row[sname] = float((model.predict(d.crops, calibrate=False).labels
                                == d.labels).mean())
        rows[name] = {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
        print(name, rows[name], flush=True)
        if not speed:
            speed = {"one_pass_crops_per_s": round(rate(one, d.crops)),
                     "eight_orientations_crops_per_s": round(rate(eight, d.crops))}
    result = {"teacher": args.teacher, "students": dict(s.split("=", 1) for s in args.student),
              "gated_cost_passes": {f"{f:.1f}": round(1 + 7 * f, 1) for f in FRACTIONS},
              **speed, "sets": rows}
    write_docs(json.loads(save_result("one_pass_study", result).read_text()))


if __name__ == "__main__":
    main()
