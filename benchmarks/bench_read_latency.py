"""Latency of reading one diffraction pattern from an on-disk dataset (click-to-inspect).

    python benchmarks/bench_read_latency.py

For .npy, zarr and HDF5 copies of a 128×128×256×256 uint16 dataset, reads 200 random
positions through Dataset4D.pattern with the file's pages dropped from the cache first
(best effort), and reports the median and 95th percentile. Reference in the same run: the
time to read the whole chunk that holds the pattern through dask. Target: < 20 ms.
"""

from __future__ import annotations

import time

import h5py
import numpy as np
import zarr
from _common import DATA, drop_page_cache, make_npy, save_result

from ferromap.io import open_4dstem


def copies(npy):
    src = np.load(npy, mmap_mode="r")
    z = DATA / "latency.zarr"
    if not z.exists():
        arr = zarr.open_array(str(z), mode="w", shape=src.shape, dtype=src.dtype,
                              chunks=(1, 16, *src.shape[2:]))
        for r in range(src.shape[0]):
            arr[r] = src[r]
    h = DATA / "latency.h5"
    if not h.exists():
        with h5py.File(h, "w") as f:
            d = f.create_dataset("data", shape=src.shape, dtype=src.dtype,
                                 chunks=(1, 1, *src.shape[2:]))
            for r in range(src.shape[0]):
                d[r] = src[r]
    return {"npy": npy, "zarr": z, "hdf5": h}


def measure(path, n=200):
    ds = open_4dstem(path)
    rng = np.random.default_rng(0)
    pos = rng.integers(0, ds.scan_shape, size=(n, 2))
    if path.is_file():
        drop_page_cache(path)
    times = []
    for r, c in pos:
        t = time.perf_counter()
        ds.pattern(int(r), int(c))
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    r, c = pos[0]
    rs = ds.data.chunks[0][0]
    ds.data[r // rs * rs : (r // rs + 1) * rs].compute()
    chunk = time.perf_counter() - t
    ms = np.array(times) * 1e3
    return {"median_ms": round(float(np.median(ms)), 3),
            "p95_ms": round(float(np.percentile(ms, 95)), 3),
            "whole_chunk_ms": round(chunk * 1e3, 1)}


def main() -> None:
    npy = make_npy(DATA / "com_128x128x256.npy", (128, 128), 256)
    result = {fmt: measure(p) for fmt, p in copies(npy).items()}
    save_result("read_latency", {"dataset": "(128, 128, 256, 256) uint16", **result,
                                 "target_ms": 20})


if __name__ == "__main__":
    main()
