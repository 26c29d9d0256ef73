"""Scale: a 512×512 scan (262,144 patterns) predicted on a dask.distributed LocalCluster.

    python benchmarks/bench_distributed.py [--scan 512 512] [--workers 2]

The default model's (``SHIPPED[0]``) default ``predict_dataset`` runs on the LocalCluster
(processes, one thread each) and locally (threads) on the same 64×64-pattern uint16 .npy at
a scan step of 0.0494 nm; the labels must be identical. Reported: both times, and the peak
resident memory of each worker process.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from _common import DATA, MRAD_PER_PX, STEP_NM, make_npy, save_result


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scan", nargs=2, type=int, default=(512, 512))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    import distributed

    from ferromap.io import open_4dstem
    from ferromap.models import SHIPPED, load_model
    from ferromap.pipelines.predict import predict_dataset

    path = make_npy(DATA / f"dist_{args.scan[0]}x{args.scan[1]}x64.npy", tuple(args.scan), 64)
    ds = open_4dstem(path).with_calibration(mrad_per_px=MRAD_PER_PX, scan_step_nm=STEP_NM)
    model = load_model(SHIPPED[0], device="cpu")
    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None, memory_limit="4GiB") as cluster, \
            distributed.Client(cluster) as client:
        t = time.perf_counter()
        remote = predict_dataset(ds, model, scheduler=client)
        t_remote = time.perf_counter() - t
        worker_peaks = client.run(peak_rss_gib)
    t = time.perf_counter()
    local = predict_dataset(ds, model)
    t_local = time.perf_counter() - t
    save_result("distributed", {
        "dataset": f"{tuple(ds.data.shape)} uint16 .npy, {ds.n_patterns} patterns",
        "workers": args.workers, "threads_per_worker": 1,
        "distributed_seconds": round(t_remote, 1), "local_threads_seconds": round(t_local, 1),
        "labels_identical": bool(np.array_equal(remote.labels, local.labels)),
        "max_abs_prob_difference": float(np.abs(remote.probs - local.probs).max()),
        "peak_rss_per_worker_gib": {k: round(v, 2) for k, v in worker_peaks.items()},
        "model": model.info.name, "symmetry_passes": model.passes,
    })


if __name__ == "__main__":
    main()
