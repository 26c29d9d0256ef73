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


def test_simulate_domains_applies_every_option(tmp_path):
    """``--domains`` makes one scan with the wall, and the detector and probe options given
    with it apply to it as they do to a recipe."""
    out = tmp_path / "d.zarr"
    res = run("--out", out, "--domains", "MU", "RM", "--thickness-nm", 2, "--scan", 2, 4,
              "--detector-px", 48, "--dose", 1e4, "--dark-counts", 5, "--descan-shift", 3, 0,
              "--tilt-mrad", 1, "--quiet")
    assert res.returncode == 0, res.stderr
    ds = open_4dstem(out)
    assert ds.data.shape == (2, 4, 48, 48) and ds.data.dtype == np.uint16
    np.testing.assert_array_equal(read_label_map(out), [[2, 2, 0, 0]] * 2)  # MU | RM
    meta = ds.metadata
    assert meta["detector"]["dark_counts"] == 5 and meta["detector"]["descan_shift_px"] == [3, 0]
    assert meta["microscope"]["tilt_mrad"] == 1 and meta["domains"] == ["MU", "RM"]
    frames = np.asarray(ds.data, np.float64)
    assert (frames == 0).mean() < 0.5  # dark counts everywhere, not only in the disk
    rows = np.arange(48)[:, None]
    com_row = (frames * rows).sum(axis=(2, 3)) / frames.sum(axis=(2, 3))
    assert np.median(com_row) > 23.5 + 1.5  # the beam is shifted down by the descan
    assert run("--out", tmp_path / "x.zarr", "--domains", "MU", "RM", "--directions", "RM",
               "--quiet").returncode != 0
