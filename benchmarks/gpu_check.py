"""The GPU check: CUDA inference end to end from a page-cached file, in one short run.

    bash benchmarks/gpu_check.sh        # on a machine with a CUDA GPU (see its header)

Prints and writes benchmarks/results/gpu_check.json (after every section, so a failure or a
time-out keeps what was measured; a section that fails records its error):

* the GPU's name;
* the default model (``SHIPPED[0]``, the scan-context model) end to end (read → CoM →
  descan → crops → ring-harmonic features → scan network averaged over 8 orientations →
  maps, ``predict_dataset``) from a page-cached 256×256×64×64 uint16 .npy at a scan step
  of 0.0494 nm, and its label agreement with a CPU fp32 run on the first 32 scan rows;
* conv-proto one pass end to end, for batches of 512 / 2048 / 8192 in fp32, and bf16/fp16
  at the best batch, and its label agreement with the CPU;
* for both, first, the reference in the same run: the same model with its kernels (CoM,
  crops, features) on the host threads, as before the kernels moved to the GPU;
* the CoM pass alone, on the CPU and on the GPU;
* the model alone on crops already on the GPU (the ceiling).

Host threads read blocks of patterns in the file's dtype and upload them through pinned
memory (:class:`ferromap.models.device.TorchNamespace`), so reading overlaps with the GPU's
work. Target: ≥ 50,000 patterns/s end to end on an H100/H200-class GPU.

A dry run of the script itself, without a GPU (torch's CPU device, a 64×64 scan):
``GPU_CHECK_DEVICE=cpu GPU_CHECK_SCAN=64 python gpu_check.py`` (writes
``gpu_check_dry_run.json``).
"""

from __future__ import annotations

import os
import time
import traceback

import numpy as np
from _common import DATA, MRAD_PER_PX, STEP_NM, make_npy, save_result

TARGET = 50_000
DEVICE = os.environ.get("GPU_CHECK_DEVICE", "cuda")
SCAN = int(os.environ.get("GPU_CHECK_SCAN", "256"))


def end_to_end(ds, model, host_kernels: bool = False):
    """``(patterns/s, maps)`` of ``predict_dataset`` after a warm-up on 16 scan rows;
    ``host_kernels`` runs CoM, crops and features on the host threads (numpy)."""
    from ferromap.models.device import TorchNamespace
    from ferromap.pipelines.anomaly import AnomalySettings
    from ferromap.pipelines.predict import predict_dataset

    model.xp = None if host_kernels else TorchNamespace(DEVICE)
    settings = AnomalySettings(periodic=False)
    predict_dataset(ds.subscan(slice(0, 16)), model, anomaly=settings)
    t = time.perf_counter()
    maps = predict_dataset(ds, model, anomaly=settings)
    return ds.n_patterns / (time.perf_counter() - t), maps


def agreement(ds, models: dict, name: str, **kwargs) -> dict:
    """Fraction of labels equal to a CPU fp32 run's, per GPU model, on the same first 32
    scan rows (the same input: a scan-context model reads the rows around each position,
    and the descan surface is fitted to the scan given)."""
    from ferromap.models import load_model
    from ferromap.pipelines.anomaly import AnomalySettings
    from ferromap.pipelines.predict import predict_dataset

    sub, settings = ds.subscan(slice(0, 32)), AnomalySettings(periodic=False)
    cpu = load_model(name, device="cpu", precision="fp32", **kwargs)
    ref = predict_dataset(sub, cpu, anomaly=settings).labels
    return {str(k): round(float((predict_dataset(sub, m, anomaly=settings).labels == ref).mean()),
                          5) for k, m in models.items()}


def default_host(ds) -> dict:
    """The reference: the default model on the GPU, its kernels on the host threads."""
    from ferromap.models import SHIPPED, load_model

    name = SHIPPED[0]
    host, _ = end_to_end(ds.with_calibration(scan_step_nm=STEP_NM),
                         load_model(name, device=DEVICE), host_kernels=True)
    print(f"{name} (default), kernels on the host: {host:.0f} patterns/s", flush=True)
    return {f"end_to_end_{name}_default_host_kernels_patterns_per_s": round(host)}


def default_gpu(ds) -> dict:
    """The default model with its kernels on the GPU, and its agreement with the CPU."""
    from ferromap.models import SHIPPED, load_model

    name = SHIPPED[0]
    ds = ds.with_calibration(scan_step_nm=STEP_NM)
    model = load_model(name, device=DEVICE)
    speed, _ = end_to_end(ds, model)
    print(f"{name} (default), kernels on the GPU: {speed:.0f} patterns/s", flush=True)
    return {f"end_to_end_{name}_default_patterns_per_s": round(speed),
            f"{name}_label_agreement_with_cpu_fp32": agreement(ds, {"gpu": model}, name)["gpu"]}


def _conv_proto(precision: str = "fp32", batch: int = 2048):
    from ferromap.models import load_model

    model = load_model("conv-proto", device=DEVICE, precision=precision, symmetrize=False)
    model.batch_size = batch
    return model


def conv_proto_host(ds) -> dict:
    """The reference: conv-proto one pass (fp32, batch 2048), kernels on the host threads."""
    host, _ = end_to_end(ds, _conv_proto(), host_kernels=True)
    print(f"conv-proto fp32 batch 2048, kernels on the host: {host:.0f} patterns/s", flush=True)
    return {"end_to_end_host_kernels_patterns_per_s": {"fp32 batch 2048": round(host)}}


def conv_proto_gpu(ds) -> dict:
    """conv-proto one pass, kernels on the GPU: batch sweep, precisions, agreement."""
    sweep, models = {}, {}
    for batch in (512, 2048, 8192):
        models[batch] = _conv_proto(batch=batch)
        speed, _ = end_to_end(ds, models[batch])
        sweep[f"fp32 batch {batch}"] = round(speed)
        print(f"fp32 batch {batch}: {speed:.0f} patterns/s", flush=True)
    best = max((512, 2048, 8192), key=lambda b: sweep[f"fp32 batch {b}"])
    for precision in ("bf16", "fp16"):
        models[precision] = _conv_proto(precision, best)
        speed, _ = end_to_end(ds, models[precision])
        sweep[f"{precision} batch {best}"] = round(speed)
        print(f"{precision} batch {best}: {speed:.0f} patterns/s", flush=True)
    return {"end_to_end_patterns_per_s": sweep,
            "label_agreement_with_cpu_fp32": agreement(ds, models, "conv-proto",
                                                       symmetrize=False)}


def com(ds) -> dict:
    """The CoM pass alone, on the host threads, then on the GPU."""
    from ferromap.core.com import center_of_mass
    from ferromap.models.device import TorchNamespace

    out, maps = {}, []
    for key, xp in (("com_cpu_patterns_per_s", None),
                    ("com_gpu_patterns_per_s", TorchNamespace(DEVICE))):
        center_of_mass(ds.data[:16], xp=xp)
        t = time.perf_counter()
        maps.append(center_of_mass(ds.data, xp=xp))
        out[key] = round(ds.n_patterns / (time.perf_counter() - t))
        print(f"{key}: {out[key]}", flush=True)
    out["com_gpu_max_difference_px"] = float(np.nanmax(np.abs(maps[1] - maps[0])))
    return out


def model_only(ds) -> dict:
    """conv-proto (bf16) on random crops already on the GPU."""
    import torch

    from ferromap.models import load_model

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
    return {"model_only_bf16_patterns_per_s": round(len(crops) / (time.perf_counter() - t))}


def main() -> None:
    import torch

    from ferromap.io import open_4dstem

    dry_run = DEVICE == "cpu"
    if not dry_run and not torch.cuda.is_available():
        raise SystemExit("gpu_check: no CUDA GPU is visible to torch")
    path = make_npy(DATA / f"gpu_{SCAN}x{SCAN}x64.npy", (SCAN, SCAN), 64)
    ds = open_4dstem(path).with_calibration(mrad_per_px=MRAD_PER_PX)
    np.load(path, mmap_mode="r").sum()  # page cache
    result = {"gpu": "none (dry run)" if dry_run else torch.cuda.get_device_name(0),
              "patterns": ds.n_patterns, "torch": torch.__version__, "kernels": "gpu",
              "target_patterns_per_s": TARGET}
    name = "gpu_check_dry_run" if dry_run else "gpu_check"
    sections = (default_host, default_gpu, conv_proto_host, conv_proto_gpu, com)
    for section in sections + (() if dry_run else (model_only,)):
        try:
            result.update(section(ds))
        except Exception as exc:  # keep the other sections' figures
            traceback.print_exc()
            result.setdefault("errors", {})[section.__name__] = f"{type(exc).__name__}: {exc}"
        save_result(name, result)


if __name__ == "__main__":
    main()
