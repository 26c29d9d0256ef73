"""Memory stays bounded from the Python API: memmaps, h5py and zarr arrays stream block by
block, without a copy of the whole dataset."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

PROBE = r"""
import sys, threading, time
import numpy as np
from ferromap.core.com import center_of_mass

def rss_anon_mb():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
peak = [rss_anon_mb()]
done = threading.Event()
def watch():
    while not done.is_set():
        peak[0] = max(peak[0], rss_anon_mb()); time.sleep(0.01)
threading.Thread(target=watch, daemon=True).start()
base = rss_anon_mb()
data = np.load(sys.argv[1], mmap_mode="r")
com = center_of_mass(data)
done.set()
assert np.isfinite(com).all()
print(f"{peak[0] - base:.1f}")
"""


@pytest.mark.slow
def test_center_of_mass_streams_a_memmap_many_times_its_memory(tmp_path):
    """An 800 MB file through ``center_of_mass(np.load(f, mmap_mode="r"))`` in < 120 MB of
    anonymous memory (file pages are the kernel's cache, reclaimable)."""
    path = tmp_path / "big.npy"
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint16, shape=(100, 64, 256, 256))
    mm[...] = 7  # constant patterns: one value per pixel, written row by row
    mm.flush()
    del mm
    res = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    extra_mb = float(res.stdout.strip().splitlines()[-1])
    assert extra_mb < 120, f"anonymous memory grew by {extra_mb} MB for an 800 MB file"


def test_h5py_and_zarr_arrays_stream_and_match_numpy(tmp_path):
    h5py = pytest.importorskip("h5py")
    zarr = pytest.importorskip("zarr")
    from ferromap.core.com import center_of_mass

    data = np.random.default_rng(0).integers(0, 100, (6, 5, 16, 16)).astype(np.uint16)
    ref = center_of_mass(data)
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["d"] = data
    with h5py.File(tmp_path / "d.h5") as f:
        np.testing.assert_allclose(center_of_mass(f["d"]), ref, rtol=1e-6)
    z = zarr.open_array(str(tmp_path / "d.zarr"), mode="w", shape=data.shape, dtype=data.dtype,
                        chunks=(2, 5, 16, 16))
    z[:] = data
    np.testing.assert_allclose(center_of_mass(z), ref, rtol=1e-6)
