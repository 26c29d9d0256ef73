"""The bundled two-domain sample as ``ferromap predict sample:two-domain`` reads it.

    python benchmarks/bench_sample.py

Runs the default model with the command's defaults (anomaly scores included) and writes
benchmarks/results/sample.json: accuracy against the sample's truth map (scored as
evaluate_suite.py scores), mean confidence, low-information positions, the title, and the
positions flagged as anomalous, with how many of them lie on the two columns either side of
the domain wall.
"""

from __future__ import annotations

import numpy as np
from _common import save_result


def main() -> None:
    from ferromap.data import load_sample
    from ferromap.pipelines.predict import run_predict
    from ferromap.training.evaluate import score

    dataset, truth = load_sample("two-domain")
    maps = run_predict(dataset)
    ev = score([(truth, maps)], maps.classes)
    wall = np.flatnonzero((truth[:, 1:] != truth[:, :-1]).any(axis=0))  # left of the wall
    at_wall = np.zeros(truth.shape, bool)
    at_wall[:, np.r_[wall, wall + 1]] = True
    save_result("sample", {
        "sample": "two-domain", "model": maps.model, "n_patterns": maps.n_patterns,
        "accuracy": round(ev.accuracy, 4), "mean_confidence": round(ev.mean_confidence, 3),
        "n_low_information": int(maps.low_info.sum()), "description": maps.title(),
        "n_anomalous": int(maps.anomaly_mask.sum()),
        "n_anomalous_on_the_wall_columns": int((maps.anomaly_mask & at_wall).sum()),
        "wall_columns": [int(c) for c in np.r_[wall, wall + 1]]})


if __name__ == "__main__":
    main()
