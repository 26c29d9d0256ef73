"""Run every benchmark in turn (the README's figures come from benchmarks/results/*.json).

    python benchmarks/run_all.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["bench_com.py", "bench_read_latency.py", "bench_memory.py", "bench_simulate.py",
           "bench_inference.py", "bench_click_latency.py"]

if __name__ == "__main__":
    for script in SCRIPTS:
        print(f"== {script}", flush=True)
        cmd = [sys.executable, str(HERE / script)]
        if script == "bench_click_latency.py":
            cmd = ["xvfb-run", "-a", *cmd]
        subprocess.run(cmd, check=True, cwd=HERE)
