"""README's performance table, built from the benchmark results (benchmarks/results/*.json).

    python benchmarks/readme_tables.py

Every row names the benchmark that measured it and the reference measured in the same run.
A result that is missing (e.g. no GPU was available) is said so in its row, not guessed.
"""

from __future__ import annotations

import json
from pathlib import Path

from _common import RESULTS, replace_block

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- performance table: begin -->", "<!-- performance table: end -->"
DELTAS = "<!-- suite deltas: begin -->", "<!-- suite deltas: end -->"


def _load(name: str, key: str | None = None) -> dict | None:
    """A result, or ``None`` when it is missing or older than its script (lacks ``key``)."""
    path = RESULTS / f"{name}.json"
    result = json.loads(path.read_text()) if path.exists() else None
    return None if result is None or (key and key not in result) else result


def _com_rows(com: dict | None, memory: dict | None) -> list[str]:
    if com is None:
        return ["| `ferromap com`, whole process | not measured by the current script | | "
                "`bench_com.py` |"]
    rows = [f"| `ferromap com`, whole process, {com['dataset']} | "
            f"{com['ferromap_com_process_s']} s, **{com['ratio_cli_over_sum']}×** the "
            f"streaming sum | a numpy streaming sum of the same file in its own process: "
            f"{com['streaming_sum_process_s']} s (target ≥ 0.5×, goal 0.8×) | "
            f"`bench_com.py`, {com['date']} |",
            f"| CoM kernel, threads | {com['kernel_all_threads_s']} s with all threads, "
            f"{com['kernel_one_thread_s']} s with one ({com['threads_speedup']}×) | the same "
            f"kernel, one thread | `bench_com.py`, {com['date']} |",
            f"| `center_of_mass(np.load(f, mmap_mode='r'))` | {com['python_api_memmap_s']} s "
            f"| as above | `bench_com.py`, {com['date']} |"]
    if memory is not None:
        rows.append(f"| `ferromap com` peak memory, {memory['dataset']} | "
                    f"{memory['peak_rss_GiB']} GiB RSS | {memory['import_only_rss_GiB']} GiB "
                    f"for importing ferromap alone | `bench_memory.py`, {memory['date']} |")
    return rows


def _predict_memory_rows(memory: dict | None) -> list[str]:
    if memory is None:
        return ["| `ferromap predict` peak memory | not measured by the current script | | "
                "`bench_memory.py --command predict` |"]
    return [f"| `ferromap predict` peak memory ({memory['model']}), {memory['dataset']} | "
            f"**{memory['peak_anonymous_GiB']} GiB** of the process's own memory (RssAnon, "
            f"sampled every 20 ms); "
            f"{memory['peak_rss_GiB']} GiB RSS, which also counts the file's page-cache pages "
            f"it has read | {memory['import_only_rss_GiB']} GiB for importing ferromap alone | "
            f"`bench_memory.py --command predict`, {memory['date']} |"]


def _inference_rows(inf: dict | None) -> list[str]:
    if inf is None:
        return ["| `ferromap predict`, whole process | not measured by the current script | | "
                "`bench_inference.py` |"]
    ref = inf["reference_published_conv_fp32_forward_patterns_per_s"]
    where = f"`bench_inference.py`, {inf['date']}"
    default = inf["default_model"]

    def rate(name: str) -> str:
        return (f"{inf[f'end_to_end_{name}_default_patterns_per_s']} patterns/s, "
                f"{inf[f'end_to_end_{name}_default_ratio_to_published_forward']}×")

    rows = [f"| default `ferromap predict` ({default}: features streamed, scan network "
            f"averaged over 8 orientations), read → CoM → features → maps in one process, "
            f"{inf['dataset']} | **{rate(default)}** | one fp32 forward of the published Conv "
            f"per pattern, batch 32: {ref} patterns/s | {where} |",
            f"| conv-proto (per pattern), averaged over its "
            f"{inf['conv-proto_symmetry_passes']} orientations | {rate('conv-proto')} | as "
            f"above | {where} |",
            f"| conv-proto, one pass (`--no-symmetrize`), batch 32 | "
            f"{inf['end_to_end_conv-proto_single_pass_batch_32_patterns_per_s']} patterns/s | "
            f"as above | {where} |",
            f"| pca-knn | {rate('pca-knn')} | as above | {where} |"]
    if "big_128x128x256x256_default_seconds" in inf:
        rows.append(f"| 2 GiB (128×128×256×256) to written maps, default ({default}) | "
                    f"{inf['big_128x128x256x256_default_seconds']} s, whole process | "
                    f"target < 30 s | {where} |")
    return rows


def _other_rows(click: dict | None, dist: dict | None, gpu: dict | None) -> list[str]:
    if click is None:
        rows = ["| click → pattern, virtual detector image | not measured by the current "
                "script | | `bench_click_latency.py` |"]
    else:
        step = click["preview_step"]
        every = "all positions" if step == 1 else f"one position in {step}×{step}"
        rows = [f"| click → pattern in the diffraction view, 2 GiB file | median "
                f"{click['median_ms']} ms, p95 {click['p95_ms']} ms "
                f"({click.get('clicks_with_full_draw', '?')} of {click.get('clicks', '?')} "
                f"needed a full draw; the marker follows in the next event-loop turn, "
                f"{click.get('marker_and_viewer_after_ms', '–')} ms) | reading the pattern alone: "
                f"{click['pattern_read_only_ms']} ms; repainting any widget of the window "
                f"(Xvfb, software OpenGL): {click.get('label_repaint_floor_ms', '–')} ms "
                f"(target ≤ 50 ms) | "
                f"`bench_click_latency.py`, {click['date']} |",
                f"| virtual detector image, 128×128 scan | exact {click['detector_exact_s']} "
                f"s (the first: {click.get('detector_exact_first_s', '–')} s), preview "
                f"{click['detector_preview_s']} s ({every}) | the sums alone: "
                f"{click.get('detector_exact_sums_only_s', '–')} s (target ≤ 0.5 s) | "
                f"`bench_click_latency.py`, {click['date']} |"]
    if dist is None:
        rows.append("| 512×512 predict on a LocalCluster | not measured | | "
                    "`bench_distributed.py` |")
    else:
        peaks = ", ".join(f"{v} GiB" for v in dist["peak_rss_per_worker_gib"].values())
        rows.append(f"| predict {dist['dataset']} on a LocalCluster ({dist['workers']} workers "
                    f"× {dist['threads_per_worker']} thread) | {dist['distributed_seconds']} s, "
                    f"peak RSS per worker {peaks}; labels identical to local: "
                    f"{'yes' if dist['labels_identical'] else '**no**'} | local threads: "
                    f"{dist['local_threads_seconds']} s | `bench_distributed.py`, "
                    f"{dist['date']} |")
    rows += _gpu_rows(gpu)
    return rows


def _gpu_rows(gpu: dict | None) -> list[str]:
    if gpu is None:
        return ["| CUDA inference | **not measured**: `benchmarks/gpu_check.sh` is ready "
                "(≤ 5 min on a lent GPU) | | `gpu_check.sh` |"]
    where = f"`gpu_check.sh` on {gpu['gpu']} ({gpu['machine']}), {gpu['date']}"
    on_gpu = gpu.get("kernels") == "gpu"
    kernels = "CoM and crops on the GPU" if on_gpu else "CoM and crops on the CPU"
    target = f"target ≥ {gpu['target_patterns_per_s']} end to end"
    rows = []
    sweep = gpu.get("end_to_end_patterns_per_s")
    if sweep:
        best = max(sweep, key=sweep.get)
        agree = gpu.get("label_agreement_with_cpu_fp32", {})
        host = gpu.get("end_to_end_host_kernels_patterns_per_s", {})
        reference = [f"CoM and crops on the CPU ({k}): {v} patterns/s" for k, v in host.items()]
        if "model_only_bf16_patterns_per_s" in gpu:
            reference.append(f"the model alone on crops already on the GPU (bf16): "
                             f"{gpu['model_only_bf16_patterns_per_s']} patterns/s")
        reference += [f"CoM alone on the {dev}: {gpu[k]} patterns/s"
                      for dev, k in (("GPU", "com_gpu_patterns_per_s"),
                                     ("CPU", "com_cpu_patterns_per_s")) if k in gpu]
        rows.append(f"| conv-proto one pass on CUDA, end to end (read → CoM → crops → model → "
                    f"maps; {kernels}), ({gpu['patterns']} patterns of 64×64 uint16, "
                    f"page-cached .npy) | "
                    + ", ".join(f"{k}: {v}" for k, v in sweep.items())
                    + f" patterns/s; best **{sweep[best]}** ({best}); labels agree with the "
                    f"CPU fp32 run: " + ", ".join(f"{k} {v}" for k, v in agree.items())
                    + f" | {'; '.join(reference)} ({target}) | {where} |")
    defaults = [k for k in gpu if k.startswith("end_to_end_")
                and k.endswith("_default_patterns_per_s")]
    if not defaults:
        rows.append("| default model (context) on CUDA | **not measured**: this result predates "
                    "that part of `gpu_check.sh` | | |")
    for key in defaults:
        name = key[len("end_to_end_"):-len("_default_patterns_per_s")]
        host = gpu.get(f"end_to_end_{name}_default_host_kernels_patterns_per_s")
        reference = f"CoM and features on the CPU: {host} patterns/s" if host else "as above"
        rows.append(f"| default `{name}` on CUDA, end to end ({kernels.replace('crops', 'features')}), "
                    f"same file | **{gpu[key]}** patterns/s; labels agree with the CPU: "
                    f"{gpu.get(f'{name}_label_agreement_with_cpu_fp32')} | {reference} | "
                    f"{where} |")
    for section, error in gpu.get("errors", {}).items():
        rows.append(f"| `gpu_check.py` section `{section}` | **failed**: {error} | | {where} |")
    return rows


def deltas_table() -> str:
    """What each nuisance costs, what the preprocessing recovers and what the training over
    the nuisances recovers.

    Per-pattern accuracy points on the suite (``evaluate_suite.py``), for the default model:
    the cost is its accuracy on the set minus its clean accuracy; preprocessing is its
    accuracy with minus without the descan surface and background subtraction (the ``raw``
    row); the randomized training is its accuracy minus the previous model's (conv-proto,
    trained on clean simulations, read per pattern with the same preprocessing).
    """
    from evaluate_suite import LABELS, SETS

    new, raw, old = (_load(f"suite_{n}") for n in ("context", "context_no_preprocessing",
                                                      "conv-proto"))
    if new is None or raw is None or old is None:
        return "(run benchmarks/evaluate_suite.py for the context, raw and conv-proto rows)"

    def acc(r, s):
        return 100 * r["results"][s]["accuracy"]

    def cost(r, s):
        return "" if s == "suite-clean" else f"{acc(r, s) - acc(r, 'suite-clean'):+.1f}"

    lines = ["| set | what the nuisance costs conv-proto (trained clean) | what it costs "
             "context | what preprocessing recovers | what the randomized scan-context "
             "training recovers |", "|---|---|---|---|---|"]
    for s in SETS:
        lines.append(f"| {LABELS[s]} | {cost(old, s)} | {cost(new, s)} | "
                     f"{acc(new, s) - acc(raw, s):+.1f} | {acc(new, s) - acc(old, s):+.1f} |")
    return "\n".join(lines) + ("\n\nPer-pattern accuracy points. The cost is a model's "
                               "accuracy on the set minus its clean accuracy; preprocessing is "
                               "the default model's (context) accuracy with minus without the "
                               "descan surface and background subtraction; the training is its "
                               "accuracy minus that of conv-proto, the previous default, read "
                               "per pattern with the same preprocessing. "
                               "`benchmarks/readme_tables.py` from the suite results.")


def _replace(text: str, markers: tuple[str, str], body: str) -> str:
    new = replace_block(text, *markers, body)
    if new is None:
        raise SystemExit(f"README.md has no {markers[0]} marker")
    return new


def performance_table() -> str:
    """The README's performance table, as markdown."""
    lines = ["| what | measured | reference (same run) | benchmark |", "|---|---|---|---|"]
    lines += _com_rows(_load("com_throughput", "ferromap_com_process_s"), _load("com_memory"))
    lines += _inference_rows(_load("inference", "default_model"))
    lines += _predict_memory_rows(_load("predict_memory", "peak_anonymous_GiB"))
    lines += _other_rows(_load("click_latency", "detector_exact_s"), _load("distributed"),
                         _load("gpu_check"))
    machine = (_load("com_memory") or {}).get("machine", "this machine")
    return "\n".join(lines) + (f"\n\nCPU rows measured on {machine}; CUDA rows on the lent "
                                "GPU machine each names.")


def main() -> None:
    readme = ROOT / "README.md"
    text = _replace(readme.read_text(), (BEGIN, END), performance_table())
    text = _replace(text, DELTAS, deltas_table())
    readme.write_text(text)
    print(text[text.index(DELTAS[0]):])


if __name__ == "__main__":
    main()
