"""Peak RSS of `ferromap com` (or `predict`) on a large memmapped dataset (default 16 GiB).

    python benchmarks/bench_memory.py [--scan 256 512] [--k 256] [--command com|predict]
                                      [--model context]

The dataset is a C-ordered uint16 .npy (256×512×256×256 = 16 GiB), written by a separate
process. `ferromap com` (or predict) runs in a child process whose peak resident set size (VmHWM in
/proc/PID/status, polled every 20 ms) is reported, and its peak anonymous memory (RssAnon):
the RSS also counts the pages of the memory-mapped file it has read, which are the kernel's
page cache and freed under pressure. (getrusage is not used: Linux carries ru_maxrss across
fork+exec, so a child would inherit its parent's high-water mark.)
Target: < 1.5 GiB. Also reported: the peak of a child that only imports ferromap.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import DATA, drop_page_cache, save_result


def _status_kib(pid: int) -> tuple[int, int]:
    """``(VmHWM, RssAnon)`` of a process, KiB (0 once it has gone)."""
    values = {"VmHWM": 0, "RssAnon": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":")[0]
            if key in values:
                values[key] = int(line.split()[1])
    except OSError:
        pass
    return values["VmHWM"], values["RssAnon"]


def peak_rss_gib(cmd: list[str]) -> tuple[float, float, float]:
    """``(peak RSS, peak anonymous memory, seconds)`` of a command, GiB."""
    t = time.perf_counter()
    child = subprocess.Popen(cmd)
    peak = anon = 0
    while child.poll() is None:
        hwm, now = _status_kib(child.pid)
        peak, anon = max(peak, hwm), max(anon, now)
        time.sleep(0.02)
    if child.returncode != 0:
        raise SystemExit(f"{cmd} failed with {child.returncode}")
    return peak / 2**20, anon / 2**20, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scan", nargs=2, type=int, default=(256, 512))
    ap.add_argument("--k", type=int, default=256)
    ap.add_argument("--keep", action="store_true", help="keep the dataset on disk")
    ap.add_argument("--command", choices=("com", "predict"), default="com")
    ap.add_argument("--model", default="context", help="predict's model")
    args = ap.parse_args()
    path = DATA / f"mem_{args.scan[0]}x{args.scan[1]}x{args.k}.npy"
    subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]);"
                    "from _common import make_npy; from pathlib import Path;"
                    "make_npy(Path(sys.argv[2]), (int(sys.argv[3]), int(sys.argv[4])),"
                    " int(sys.argv[5]))",
                    str(Path(__file__).parent), str(path), *map(str, args.scan), str(args.k)],
                   check=True)
    size_gib = path.stat().st_size / 2**30
    base, _, _ = peak_rss_gib([sys.executable, "-c", "import ferromap.pipelines.com, ferromap.cli"])
    drop_page_cache(path)
    out = Path(tempfile.mkdtemp())
    try:
        extra = ["--mrad-per-px", "0.8", "--scan-step-nm", "0.05", "--model", args.model] \
            if args.command == "predict" else []
        peak, anon, seconds = peak_rss_gib([sys.executable, "-m", "ferromap.cli", args.command,
                                      str(path), "--out", str(out), "--quiet", *extra])
    finally:
        shutil.rmtree(out, ignore_errors=True)
        if not args.keep:
            path.unlink()
    save_result(f"{args.command}_memory", {
        "dataset": f"{(*args.scan, args.k, args.k)} uint16 .npy, {size_gib:.1f} GiB",
        **({"model": args.model} if args.command == "predict" else {}),
        "peak_rss_GiB": round(peak, 3), "peak_anonymous_GiB": round(anon, 3),
        "import_only_rss_GiB": round(base, 3),
        "seconds": round(seconds, 1), "GiB_per_s": round(size_gib / seconds, 2),
        "target_peak_rss_GiB": 1.5,
    })


if __name__ == "__main__":
    main()
