"""The GPU check: CUDA inference end to end from a page-cached file, in one short run.

    bash benchmarks/gpu_check.sh        # on a machine with a CUDA GPU (see its header)

Prints and writes benchmarks/results/gpu_check.json:

* the GPU's name;
* end to end (read → CoM → descan → crops → model → maps, ``predict_dataset`` with the
  shipped conv-proto, one pass) patterns/s from a page-cached 256×256×64×64 uint16 .npy, for
  batches of 512 / 2048 / 8192 in fp32, and bf16/fp16 at the best batch; block reading and
  cropping run in worker threads and the host→device copies come from pinned memory, so they
  overlap with the GPU's work;
* the model alone on crops already on the GPU (the ceiling);
* the CoM pass on its own (CPU streaming: there is no GPU CoM kernel);
* agreement of the GPU labels with a CPU fp32 run on the first 32 scan rows;
* the same end to end, and the agreement, for the default model (``SHIPPED[0]``, the
  scan-context model: ring-harmonic features streamed on the CPU, its network averaged over
  8 orientations on the GPU), at a scan step of 0.0494 nm.

Target: ≥ 50,000 patterns/s end to end on an H100/H200-class GPU.
"""

from __future__ import annotations

import time

import numpy as np
from _common import DATA, MRAD_PER_PX, STEP_NM, make_npy, save_result


def end_to_end(ds, model) -> float:
    from ferromap.pipelines.anomaly import AnomalySettings
    from ferromap.pipelines.predict import predict_dataset

    predict_dataset(ds.subscan(slice(0, 16)), model, anomaly=AnomalySettings(periodic=False))
    t = time.perf_counter()
    maps = predict_dataset(ds, model, anomaly=AnomalySettings(periodic=False))
    return ds.n_patterns / (time.perf_counter() - t), maps


def default_model(ds) -> dict:
    """End to end and label agreement with the CPU for the default model, if not conv-proto."""
    from ferromap.models import SHIPPED, load_model
    from ferromap.pipelines.anomaly import AnomalySettings
    from ferromap.pipelines.predict import predict_dataset

    name = SHIPPED[0]
    if name == "conv-proto":
        return {}
    ds = ds.with_calibration(scan_step_nm=STEP_NM)
    speed, maps = end_to_end(ds, load_model(name, device="cuda"))
    print(f"{name} (default) fp32: {speed:.0f} patterns/s", flush=True)
    sub = ds.subscan(slice(0, 32))
    ref = predict_dataset(sub, load_model(name, device="cpu"),
                          anomaly=AnomalySettings(periodic=False)).labels
    cuda = predict_dataset(sub, load_model(name, device="cuda"),
                           anomaly=AnomalySettings(periodic=False)).labels
    return {f"end_to_end_{name}_default_patterns_per_s": round(speed),
            f"{name}_label_agreement_with_cpu_fp32": round(float((cuda == ref).mean()), 5)}


def main() -> None:
    import torch

    from ferromap.core.com import center_of_mass
    from ferromap.io import open_4dstem
    from ferromap.models import load_model
    from ferromap.pipelines.anomaly import AnomalySettings
    from ferromap.pipelines.predict import predict_dataset

    if not torch.cuda.is_available():
        raise SystemExit("gpu_check: no CUDA GPU is visible to torch")
    path = make_npy(DATA / "gpu_256x256x64.npy", (256, 256), 64)
    ds = open_4dstem(path).with_calibration(mrad_per_px=MRAD_PER_PX)
    np.load(path, mmap_mode="r").sum()  # page cache
    result = {"gpu": torch.cuda.get_device_name(0), "patterns": ds.n_patterns,
              "torch": torch.__version__}
    t = time.perf_counter()
    center_of_mass(ds.data)
    result["com_cpu_patterns_per_s"] = round(ds.n_patterns / (time.perf_counter() - t))
    sweep, labels = {}, {}
    for batch in (512, 2048, 8192):
        model = load_model("conv-proto", device="cuda", precision="fp32", symmetrize=False)
        model.batch_size = batch
        speed, maps = end_to_end(ds, model)
        sweep[f"fp32 batch {batch}"] = round(speed)
        labels[batch] = maps.labels
        print(f"fp32 batch {batch}: {speed:.0f} patterns/s", flush=True)
    best = max((512, 2048, 8192), key=lambda b: sweep[f"fp32 batch {b}"])
    for precision in ("bf16", "fp16"):
        model = load_model("conv-proto", device="cuda", precision=precision, symmetrize=False)
        model.batch_size = best
        speed, maps = end_to_end(ds, model)
        sweep[f"{precision} batch {best}"] = round(speed)
        labels[precision] = maps.labels
        print(f"{precision} batch {best}: {speed:.0f} patterns/s", flush=True)
    result["end_to_end_patterns_per_s"] = sweep
    model = load_model("conv-proto", device="cuda", precision="bf16", symmetrize=False)
    crops = torch.rand(65536, 1, 64, 64, device="cuda").contiguous(
        memory_format=torch.channels_last)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        model.net.predict_tensor(crops[:4096])
        torch.cuda.synchronize()
        t = time.perf_counter()
        for s in range(0, len(crops), 8192):
            model.net.predict_tensor(crops[s : s + 8192])
        torch.cuda.synchronize()
    result["model_only_bf16_patterns_per_s"] = round(len(crops) / (time.perf_counter() - t))
    cpu = load_model("conv-proto", device="cpu", precision="fp32", symmetrize=False)
    sub = ds.subscan(slice(0, 32))
    ref = predict_dataset(sub, cpu, anomaly=AnomalySettings(periodic=False)).labels
    result["label_agreement_with_cpu_fp32"] = {
        str(k): round(float((v[:32] == ref).mean()), 5) for k, v in labels.items()}
    result.update(default_model(ds))
    result["target_patterns_per_s"] = 50_000
    save_result("gpu_check", result)


if __name__ == "__main__":
    main()
