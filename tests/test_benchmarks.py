"""The GPU check runs whole, so the one run a lent GPU allows is not lost to a broken script
(here as its dry run on torch's CPU device, on a small scan)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_the_gpu_check_runs_every_section(tmp_path):
    pytest.importorskip("torch")
    env = {**os.environ, "GPU_CHECK_DEVICE": "cpu", "GPU_CHECK_SCAN": "32",
           "FERROMAP_BENCH_DATA": str(tmp_path), "FERROMAP_BENCH_RESULTS": str(tmp_path)}
    subprocess.run([sys.executable, "gpu_check.py"], cwd=BENCHMARKS, env=env, check=True,
                   capture_output=True, timeout=600)
    result = json.loads((tmp_path / "gpu_check_dry_run.json").read_text())
    assert "errors" not in result
    for key in ("end_to_end_context_default_patterns_per_s",
                "end_to_end_context_default_host_kernels_patterns_per_s",
                "end_to_end_patterns_per_s", "end_to_end_host_kernels_patterns_per_s",
                "com_gpu_patterns_per_s", "com_cpu_patterns_per_s"):
        assert key in result
    assert result["context_label_agreement_with_cpu_fp32"] == 1.0  # the same kernels' maps
    assert result["label_agreement_with_cpu_fp32"]["2048"] == 1.0
    assert result["com_gpu_max_difference_px"] < 1e-3
