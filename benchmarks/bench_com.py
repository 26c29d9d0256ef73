"""CoM throughput against a plain streaming sum over the same on-disk array, same run.

    python benchmarks/bench_com.py [--scan 128 128] [--k 256]

Both passes stream the lazily opened .npy chunk by chunk with the same dask scheduler; the
file is in the page cache for both (a warm-up pass reads it first), so the ratio measures the
kernel, not the disk. Target: CoM / sum >= 0.5.
"""

from __future__ import annotations

import argparse
import time

from _common import DATA, make_npy, save_result

from ferromap.core.com import center_of_mass
from ferromap.core.stream import compute
from ferromap.io import open_4dstem


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scan", nargs=2, type=int, default=(128, 128))
    ap.add_argument("--k", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    path = make_npy(DATA / f"com_{args.scan[0]}x{args.scan[1]}x{args.k}.npy", args.scan, args.k)
    ds = open_4dstem(path)
    gib = ds.data.nbytes / 2**30
    compute(ds.data.sum(axis=(2, 3)))  # warm the page cache
    t_sum = best_of(lambda: compute(ds.data.sum(axis=(2, 3))), args.repeats)
    t_com = best_of(lambda: center_of_mass(ds.data), args.repeats)
    n = ds.n_patterns
    save_result("com_throughput", {
        "dataset": f"{tuple(ds.data.shape)} uint16 .npy, {gib:.2f} GiB",
        "sum_seconds": round(t_sum, 3), "com_seconds": round(t_com, 3),
        "sum_patterns_per_s": round(n / t_sum), "com_patterns_per_s": round(n / t_com),
        "com_GiB_per_s": round(gib / t_com, 2),
        "ratio_com_over_sum": round(t_sum / t_com, 3), "target_ratio": 0.5,
    })


if __name__ == "__main__":
    main()
