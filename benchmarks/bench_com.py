"""CoM at streaming speed: whole-process ``ferromap com`` against a streaming numpy sum of the
same file, and the kernel with one and with all threads, all in the same run.

    python benchmarks/bench_com.py [--scan 128 128] [--k 256] [--repeats 3]

The file is read once first, so both sides read from the page cache; the reference is a
separate Python process that sums the memmapped .npy block by block (what any program that
reads the whole file must at least do), timed as a whole process like ``ferromap com``
(start-up, reading, CoM, virtual images and writing every output file included).
Targets: ``ferromap com`` / sum >= 0.5 (goal 0.8); threads faster than one thread.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import DATA, make_npy, save_result

SUM = ("import sys, numpy as np; a = np.load(sys.argv[1], mmap_mode='r'); "
       "f = a.reshape(-1, a.shape[-2] * a.shape[-1]); step = 256; "
       "s = sum(int(f[i:i + step].sum(dtype=np.uint64)) for i in range(0, len(f), step)); "
       "print(s)")


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
    from ferromap.core.com import center_of_mass
    from ferromap.io import open_4dstem

    path = make_npy(DATA / f"com_{args.scan[0]}x{args.scan[1]}x{args.k}.npy", args.scan, args.k)
    gib = path.stat().st_size / 2**30
    np.load(path, mmap_mode="r").sum()  # warm the page cache
    out = Path(tempfile.mkdtemp()) / "com"
    t_sum = best_of(lambda: subprocess.run([sys.executable, "-c", SUM, str(path)], check=True,
                                           capture_output=True), args.repeats)
    t_cli = best_of(lambda: subprocess.run(
        [sys.executable, "-m", "ferromap.cli", "com", str(path), "--out", str(out), "--force",
         "--quiet"], check=True), args.repeats)
    ds = open_4dstem(path)
    t_one = best_of(lambda: center_of_mass(ds.array(), scheduler="synchronous"), args.repeats)
    t_all = best_of(lambda: center_of_mass(ds.array()), args.repeats)
    mm = np.load(path, mmap_mode="r")
    t_api = best_of(lambda: center_of_mass(mm), args.repeats)
    save_result("com_throughput", {
        "dataset": f"{tuple(mm.shape)} uint16 .npy, {gib:.2f} GiB, page cache warm",
        "streaming_sum_process_s": round(t_sum, 3), "ferromap_com_process_s": round(t_cli, 3),
        "ratio_cli_over_sum": round(t_sum / t_cli, 3), "target_ratio": 0.5, "goal_ratio": 0.8,
        "kernel_one_thread_s": round(t_one, 3), "kernel_all_threads_s": round(t_all, 3),
        "threads_speedup": round(t_one / t_all, 2),
        "python_api_memmap_s": round(t_api, 3), "kernel_GiB_per_s": round(gib / t_all, 2),
    })


if __name__ == "__main__":
    main()
