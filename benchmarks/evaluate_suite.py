"""Models on the experiment-like suite, through the predict pipeline users run.

    python benchmarks/evaluate_suite.py [--model NAME=PATH[:1][:raw]] ... [--data data]
                                        [--table-only]

Every scan of every ``data/suite-*.zarr`` (``python scripts/make_datasets.py --group suite``)
is predicted on its own by ``ferromap.pipelines.predict.predict_dataset``, as
``ferromap predict`` would: calibration guard, descan surface, sub-pixel crops, the model's
default symmetry averaging (``:1`` after a path: one pass) and its calibrated confidence;
``:raw`` switches the physical preprocessing off (the scan's mean CoM as the beam centre, no
background subtraction), to measure what it recovers.
Per model and set: per-pattern accuracy, the scans whose majority class is right, the
expected calibration error (ECE) and the reliability diagram. Results go to
``benchmarks/results/suite_NAME.json``; the table to docs/benchmark.md and README.md (between
markers) and stdout; the reliability diagram to docs/reliability.png.

The default rows: the shipped default model (context; with one pass; without the
preprocessing), pca-knn, conv-proto (the previous default, per pattern: the weights of
commit 45f211b with the calibration fitted since; with one pass) and those weights without
the calibration (``models/conv-proto-previous``, ``make models/conv-proto-previous``), and
PCA + kNN of the polar statistics fitted on the bank (``ferromap train --config
configs/pca-knn.toml --out models/pca-knn-v2``, then ``scripts/calibrate_weights.py --model
models/pca-knn-v2``), which is not shipped.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import RESULTS, replace_block, save_result

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SETS = ["suite-clean", "suite-16nm", "suite-24nm", "suite-50nm", "suite-dose1e5",
        "suite-dose1e4-dark", "suite-mrad2.1", "suite-descan", "suite-tilt1mrad",
        "suite-defocus3nm", "suite-tds", "suite-source-psf-1e5", "suite-experiment"]
LABELS = {"suite-clean": "clean 20 nm", "suite-16nm": "16 nm", "suite-24nm": "24 nm",
          "suite-50nm": "50 nm", "suite-dose1e5": "1e5 e⁻", "suite-dose1e4-dark":
          "1e4 e⁻ + dark", "suite-mrad2.1": "2.12 mrad/px", "suite-descan": "descan ramp",
          "suite-tilt1mrad": "1 mrad mistilt", "suite-defocus3nm": "3 nm defocus",
          "suite-tds": "TDS", "suite-source-psf-1e5": "source + PSF + 1e5",
          "suite-experiment": "**all together (experiment-like)**"}
DEFAULT_MODELS = ["context=context", "context 1 pass=context:1",
                  "context no preprocessing=context:raw", "pca-knn=pca-knn",
                  "pca-knn of polar statistics, bank-trained (not shipped)="
                  f"{ROOT / 'models' / 'pca-knn-v2'}",
                  "conv-proto=conv-proto", "conv-proto 1 pass=conv-proto:1",
                  f"previous conv-proto=" f"{ROOT / 'models' / 'conv-proto-previous'}"]
BEGIN, END = "<!-- suite table: begin -->", "<!-- suite table: end -->"


def evaluate_model(name: str, spec: str, data: Path, sets: list[str] = SETS) -> dict:
    from ferromap.models import load_model
    from ferromap.training.evaluate import evaluate

    path, *flags = spec.split(":")
    model = load_model(path, symmetrize=False if "1" in flags else None)
    raw = {"descan": "mean", "background": False} if "raw" in flags else {}
    rows = {}
    for s in sets:
        t = time.perf_counter()
        ev = evaluate(model, [str(data / f"{s}.zarr")], **raw)
        rows[s] = {**ev.to_dict(), "seconds": round(time.perf_counter() - t, 1)}
        print(f"{name:>22} {s:>22}: {100 * ev.accuracy:5.1f} % [{ev.majority_correct}/"
              f"{ev.n_scans}] ECE {ev.ece:.3f}", flush=True)
    return {"model": name, "spec": spec, "passes": model.passes,
            "calibrated": model.info.calibrated, "results": rows}


def _path_of(spec: str) -> tuple:
    """A model spec with its path resolved (the same model whatever the working directory)."""
    path, *flags = spec.split(":")
    return (str(Path(path).resolve()) if Path(path).exists() or "/" in path else path, *flags)


def table(results: list[dict]) -> str:
    head = "| model | " + " | ".join(LABELS[s] for s in SETS) + " |"
    lines = [head, "|---|" + "---|" * len(SETS)]
    for r in results:
        cells = []
        for s in SETS:
            v = r["results"].get(s)
            cells.append("" if v is None else f"{100 * v['accuracy']:.1f} % "
                         f"[{v['majority_correct']}]")
        lines.append(f"| {r['model']} | " + " | ".join(cells) + " |")
    lines += ["", "Expected calibration error of the confidence (15 bins):", "",
              "| model | " + " | ".join(LABELS[s] for s in SETS) + " |",
              "|---|" + "---|" * len(SETS)]
    for r in results:
        lines.append(f"| {r['model']} | " + " | ".join(
            f"{r['results'][s]['ece']:.3f}" if s in r["results"] else "" for s in SETS) + " |")
    return "\n".join(lines)


def reliability_figure(results: list[dict], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.2), dpi=120, layout="constrained")
    picks = ["suite-clean", "suite-dose1e5", "suite-experiment"]
    r = results[0]
    for i, s in enumerate(picks):
        ax = fig.add_subplot(1, 3, i + 1)
        rel = r["results"][s]["reliability"]
        conf, acc, n = rel["confidence"], rel["accuracy"], rel["count"]
        ok = [j for j, k in enumerate(n) if k]
        ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="perfect")
        ax.plot([conf[j] for j in ok], [acc[j] for j in ok], "o-", label=r["model"])
        short = "experiment-like" if s == "suite-experiment" else LABELS[s]
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (probability right)",
               title=f"{short}: ECE {r['results'][s]['ece']:.3f}")
        if i == 0:
            ax.set_ylabel("accuracy (fraction right)")
            ax.legend(fontsize=7, loc="upper left")
    fig.savefig(path)


def write_docs(results: list[dict]) -> None:
    """The table into docs/benchmark.md and README.md, between the suite markers."""
    dates = ", ".join(sorted({r.get("date", time.strftime("%Y-%m-%d")) for r in results}))
    body = (f"{table(results)}\n\nPer-pattern accuracy; in brackets the 8 single-direction "
            f"scans whose majority class is right. `python benchmarks/evaluate_suite.py`, "
            f"measured {dates}.")
    for doc in (ROOT / "docs" / "benchmark.md", ROOT / "README.md"):
        text = doc.read_text() if doc.exists() else ""
        new = replace_block(text, BEGIN, END, body)
        if new is None and doc.name == "benchmark.md":
            new = f"{text}\n\n{BEGIN}\n{body}\n{END}\n"
        if new is not None:
            doc.write_text(new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", action="append", help="NAME=PATH[:1] (repeatable)")
    ap.add_argument("--data", default=str(ROOT / "data"))
    ap.add_argument("--table-only", action="store_true", help="rebuild the table from JSON")
    ap.add_argument("--sets", nargs="*", choices=SETS, default=SETS,
                    help="evaluate these sets only (the table leaves the others blank)")
    ap.add_argument("--reuse", action="append", default=[], metavar="NAME",
                    help="take this model's row from its saved JSON (same spec) instead of "
                         "measuring it again; the table keeps each row's date")
    args = ap.parse_args()
    specs = [m.split("=", 1) for m in (args.model or DEFAULT_MODELS)]
    results = []
    for name, spec in specs:
        out = RESULTS / f"suite_{name.replace(' ', '_')}.json"
        if args.table_only or name in args.reuse:
            saved = json.loads(out.read_text())
            if _path_of(saved.get("spec", "")) != _path_of(spec):
                raise SystemExit(f"{out.name} was measured with {saved.get('spec')!r}, not {spec!r}")
            results.append(saved)
            continue
        result = evaluate_model(name, spec, Path(args.data), args.sets)
        save_result(out.stem, result)
        results.append(result)
    print(table(results))
    write_docs(results)
    reliability_figure(results, ROOT / "docs" / "reliability.png")


if __name__ == "__main__":
    main()
