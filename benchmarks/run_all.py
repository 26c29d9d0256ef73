"""Run every benchmark in turn (the README's figures come from benchmarks/results/*.json).

    python benchmarks/run_all.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [["bench_com.py"], ["bench_read_latency.py"], ["bench_memory.py"],
           ["bench_memory.py", "--command", "predict", "--scan", "128", "128"],
           ["bench_simulate.py"],
           ["bench_inference.py", "--big"], ["bench_click_latency.py"],
           ["bench_distributed.py"], ["bench_sample.py"],
           # these need `make datasets` (the evaluation suite):
           ["evaluate_suite.py"], ["bench_scan_step.py"],
           ["bench_anomaly.py", "--model", "context", "--pair", "suite"],
           # and the earlier pair (make_datasets.py --group legacy --only test-vacancy
           # test-pristine-rd):
           ["bench_anomaly.py", "--model", "context", "--pair", "legacy"],
           ["readme_tables.py"],  # README's performance table from the results above
           ]
# The earlier studies (ablation_training.py, symmetry_study.py, evaluate_models.py,
# labelling_study.py) need the earlier sets: python scripts/make_datasets.py --group legacy

if __name__ == "__main__":
    for script, *args in SCRIPTS:
        print(f"== {script} {' '.join(args)}", flush=True)
        cmd = [sys.executable, str(HERE / script), *args]
        if script == "bench_click_latency.py":
            cmd = ["xvfb-run", "-a", *cmd]
        subprocess.run(cmd, check=True, cwd=HERE)
