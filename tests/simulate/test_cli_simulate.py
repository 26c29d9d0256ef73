from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("abtem", reason="abtem is not installed: pip install 'ferromap[simulate]'")

from ferromap.io import open_4dstem  # noqa: E402
from ferromap.io.sidecar import read_label_map  # noqa: E402


def run(*args):
    return subprocess.run([sys.executable, "-m", "ferromap.cli", "simulate", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_simulate_directions_with_dose(tmp_path):
    out = tmp_path / "s.zarr"
    res = run("--out", out, "--directions", "RM,LD", "--thickness-nm", 2, "--scan", 3, 2,
              "--dose", 1e4, "--quiet")
    assert res.returncode == 0, res.stderr
    ds = open_4dstem(out)
    assert ds.data.shape == (6, 2, 64, 64) and ds.data.dtype == np.uint16
    np.testing.assert_array_equal(read_label_map(out), [[0, 0]] * 3 + [[5, 5]] * 3)
    assert ds.calibration.mrad_per_px == pytest.approx(3.1746, abs=1e-3)
    assert run("--out", out, "--directions", "RM", "--quiet").returncode != 0  # no overwrite


def test_simulate_bad_class_is_one_line(tmp_path):
    res = run("--out", tmp_path / "x.zarr", "--directions", "RM,XX", "--quiet")
    assert res.returncode != 0 and "unknown class" in res.stderr and "Traceback" not in res.stderr
