"""Helpers shared by the benchmarks: synthetic on-disk datasets and result files."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("FERROMAP_BENCH_DATA", HERE / "_data"))
RESULTS = Path(os.environ.get("FERROMAP_BENCH_RESULTS", HERE / "results"))


#: The synthetic benchmark files: 64-px patterns at the model's sampling, a scan step of a/8
#: of KNN (what the default scan-context model needs to read them).
MRAD_PER_PX = 3.1746
STEP_NM = 0.0494

def disk_block(k: int, n: int, seed: int = 0) -> np.ndarray:
    """``n`` uint16 patterns ``k×k``: a bright disk with a small random offset, Poisson noise."""
    rng = np.random.default_rng(seed)
    rr, cc = np.mgrid[0:k, 0:k]
    out = np.empty((n, k, k), np.uint16)
    for i in range(n):
        dr, dc = rng.normal(0, 1.0, 2)
        inside = np.hypot(rr - k / 2 - dr, cc - k / 2 - dc) < k / 8
        out[i] = rng.poisson(np.where(inside, 200.0, 2.0))
    return out


def make_npy(path: Path, scan: tuple[int, int], k: int) -> Path:
    """Write (once) a ``scan + (k, k)`` uint16 .npy by tiling a block of synthetic patterns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (*scan, k, k)
    if path.exists():
        try:
            if np.load(path, mmap_mode="r").shape == shape:
                return path
        except ValueError:
            pass
    block = disk_block(k, 256)
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint16, shape=shape)
    flat = mm.reshape(-1, k, k)
    for start in range(0, len(flat), len(block)):
        stop = min(start + len(block), len(flat))
        flat[start:stop] = block[: stop - start]
    mm.flush()
    del mm, flat
    return path


def replace_block(text: str, begin: str, end: str, body: str) -> str | None:
    """``text`` with what lies between the markers ``begin`` and ``end`` replaced by ``body``
    (``None`` when ``text`` has no ``begin`` marker)."""
    if begin not in text:
        return None
    return text[: text.index(begin)] + f"{begin}\n{body}\n{end}" + \
        text[text.index(end) + len(end):]


def save_result(name: str, result: dict) -> Path:
    """Print and store a benchmark result as JSON (README figures come from these files)."""
    RESULTS.mkdir(exist_ok=True)
    result = {"benchmark": name, "date": time.strftime("%Y-%m-%d"),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "load_average_1min_at_end": round(os.getloadavg()[0], 2), **result}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return path


def drop_page_cache(path: Path) -> None:
    """Ask the kernel to forget the file's cached pages (best effort, Linux only)."""
    try:
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
    except (AttributeError, OSError):
        pass
