"""`ferromap predict` as a user runs it, with the shipped models and the bundled sample."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from ferromap.classes import KNN8
from ferromap.data import load_sample
from ferromap.io import Calibration
from ferromap.io.save import save_4dstem
from ferromap.pipelines.export import CONTRACT_FILES


def run(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "ferromap.cli", "predict", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("model", ["context", "conv-proto", "pca-knn"])
def test_predict_sample_writes_the_contract(tmp_path, model):
    res = run("sample:two-domain", "--out", tmp_path, "--model", model, "--quiet")
    assert res.returncode == 0, res.stderr
    assert {p.name for p in tmp_path.iterdir()} == set(CONTRACT_FILES)
    labels = tifffile.imread(tmp_path / "labels.tif")
    _, truth = load_sample("two-domain")
    assert labels.shape == truth.shape == (32, 48)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n_patterns"] == 32 * 48 and summary["model"] == model
    fractions = summary["class_fractions"]
    assert summary["majority_class"] == max(fractions, key=fractions.get)
    assert abs(sum(fractions.values()) - 1) < 1e-6


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """``get(model, *flags)``: labels, truth, informative mask and summary of
    ``ferromap predict sample:two-domain`` (``model=None``: the default), run once each."""
    cache = {}

    def get(model=None, *flags):
        key = (model, flags)
        if key not in cache:
            out = tmp_path_factory.mktemp("two-domain")
            chosen = ("--model", model) if model else ()
            res = run("sample:two-domain", "--out", out, "--quiet", *chosen, *flags)
            assert res.returncode == 0, res.stderr
            with __import__("h5py").File(out / "maps.h5") as f:
                informative = f["low_information"][:] == 0
            cache[key] = (tifffile.imread(out / "labels.tif"), load_sample("two-domain")[1],
                          informative, json.loads((out / "summary.json").read_text()))
        return cache[key]

    return get


@pytest.mark.parametrize("model", [None, "conv-proto"])
def test_the_models_find_the_two_domains(sample_run, model):
    labels, truth, informative, summary = sample_run(model)
    assert summary["symmetry_passes"] == 8
    assert (labels == truth).mean() > 0.5  # chance: 12.5 %
    left = np.bincount(labels[:, :24][informative[:, :24]], minlength=8).argmax()
    right = np.bincount(labels[:, 24:][informative[:, 24:]], minlength=8).argmax()
    assert (KNN8.names[left], KNN8.names[right]) == ("MU", "RM")


@pytest.mark.parametrize(("model", "floor"), [(None, 0.95), ("conv-proto", 0.8)])
def test_the_models_classify_most_sample_patterns(sample_run, model, floor):
    """On the bundled sample at 1e5 e-/pattern: the default (the suite's targets) and the
    per-pattern conv-proto (the 1e5 target, 80 %)."""
    labels, truth, informative, _ = sample_run(model)
    acc = (labels == truth)[informative].mean()
    assert acc > floor, f"informative-position accuracy {acc:.2f}"


def test_the_default_model_reads_the_scan_context(sample_run):
    """The default model reads each position's neighbourhood at the file's scan step."""
    _, _, _, summary = sample_run()
    assert summary["model"] == "context" and summary["scan_step_A"] == pytest.approx(0.49375)
    assert summary["scan_step_estimate"] is None


def test_symmetry_averaging_beats_a_single_pass(sample_run):
    """conv-proto averages over the 8 orientations of the square lattice by default;
    --no-symmetrize makes one pass and is measurably less accurate on the noisy sample."""
    labels, truth, _, _ = sample_run("conv-proto")
    single, _, _, summary = sample_run("conv-proto", "--no-symmetrize")
    assert summary["symmetry_passes"] == 1
    assert (labels == truth).mean() > (single == truth).mean() + 0.05


def test_a_descan_ramp_changes_no_label(tmp_path, sample_run):
    """The same scan with its beam moved by a descan shift and ramp (as a microscope's
    descan does) gives the same map: the descan surface is removed before the features."""
    from ferromap.simulate.detector import apply_detector

    ds, truth = load_sample("two-domain")
    ramped = apply_detector(ds.data.compute().astype(np.float32), shift_px=(1.5, -1.0),
                            ramp_px=((0.05, 0.02), (-0.02, 0.04)))
    save_4dstem(tmp_path / "ramped.zarr", ramped, calibration=ds.calibration,
                metadata={"classes": KNN8.to_dict()})
    res = run(tmp_path / "ramped.zarr", "--out", tmp_path / "out", "--quiet")
    assert res.returncode == 0, res.stderr
    labels = tifffile.imread(tmp_path / "out" / "labels.tif")
    original, *_ = sample_run()
    assert (labels == original).mean() > 0.98  # with the plain mean beam centre: 0.94
    assert (labels == truth).mean() > 0.95


def test_a_scan_step_missing_from_the_file_is_estimated_and_said(tmp_path):
    """The sample saved without its scan step: the default model estimates it from the
    lattice (a/8 = 0.494 Å), says so on stderr and records it in summary.json."""
    from dataclasses import replace

    ds, truth = load_sample("two-domain")
    save_4dstem(tmp_path / "nostep.zarr", ds.data.compute(),
                calibration=replace(ds.calibration, scan_step_nm=None), labels=truth,
                metadata={"classes": KNN8.to_dict()})
    res = run(tmp_path / "nostep.zarr", "--out", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert "scan step unknown: estimated 0.049" in res.stderr and "--scan-step-nm" in res.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["scan_step_estimate"]["period_px"] == pytest.approx(8.0, rel=0.02)
    assert summary["scan_step_A"] == pytest.approx(0.494, rel=0.02)
    assert (tifffile.imread(tmp_path / "out" / "labels.tif") == truth).mean() > 0.95


def _boracite(tmp_path):
    classes = {"names": ["none", "vertical", "horizontal"], "angles_deg": [None, 90.0, 0.0]}
    save_4dstem(tmp_path / "b.zarr", np.ones((2, 2, 64, 64), np.uint16),
                calibration=Calibration(3.17), metadata={"classes": classes})
    return tmp_path / "b.zarr"


@pytest.mark.parametrize(("make", "args", "message"), [
    (lambda p: p / "missing.mib", [], "no such file"),
    (lambda p: (p / "x.npy").write_bytes(b"junk") and p / "x.npy", [], "not a valid .npy"),
    (lambda p: np.save(p / "s.npy", np.ones((2, 2, 16, 16))) or p / "s.npy", [],
     "cover only ±21 mrad"),
    (_boracite, [], "labelled with none, vertical, horizontal"),
    (lambda p: "sample:single-ru", ["--model", "/nonexistent/model"], "not a ferromap model"),
    *[(lambda p: "sample:single-ru", ["--scan-step-nm", v], "--scan-step-nm must be a positive")
      for v in ("-1", "0", "nan", "inf", "1e400")],
    *[(lambda p: "sample:single-ru", [flag, "0"], f"{flag} must be a positive")
      for flag in ("--mrad-per-px", "--semiangle")],
])
def test_bad_input_is_one_line(tmp_path, make, args, message):
    res = run(make(tmp_path), "--out", tmp_path / "out", "--quiet", *args)
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.stderr
    assert "Traceback" not in res.stderr
    assert not any((tmp_path / "out").glob("*"))  # nothing written


def test_a_real_map_without_an_informative_position_claims_no_class(tmp_path, realdata):
    """A real Merlin frame stack the per-pattern model cannot read: every position is
    low-information, and the summary says so instead of naming a majority class."""
    res = run(realdata / "merlin/Single_9_Frame_CounterDepth_12_Rows_256.mib", "--scan-shape",
              3, 3, "--model", "conv-proto", "--out", tmp_path, "--quiet")
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n_low_information"] == 9 and summary["n_informative"] == 0
    assert summary["majority_class"] is None and not summary["has_majority"]
    assert summary["description"] in res.stdout and "no informative" in summary["description"]


def test_cuda_without_cuda_is_one_line(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    res = run("sample:single-ru", "--out", tmp_path, "--device", "cuda", "--quiet")
    assert res.returncode != 0 and "CUDA was requested" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_tiff_folder_input(tmp_path):
    ds, _ = load_sample("single-ru")
    frames = ds.data.compute().reshape(-1, 64, 64)
    folder = tmp_path / "tiffs"
    folder.mkdir()
    for i, f in enumerate(frames):
        tifffile.imwrite(folder / f"frame_{i}.tif", f)
    res = run(folder, "--out", tmp_path / "out", "--mrad-per-px", ds.calibration.mrad_per_px,
              "--quiet")
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["n_patterns"] == 256


def test_the_default_model_refuses_steps_it_cannot_read(tmp_path):
    """Four positions per cell or fewer (here 0.99 Å) can be misread at some sampling phases
    (benchmarks/bench_scan_step.py): refused with one line that names the per-pattern model."""
    res = run("sample:two-domain", "--out", tmp_path, "--scan-step-nm", "0.0988", "--quiet")
    assert res.returncode == 1 and not list(tmp_path.iterdir())
    line = res.stderr.strip()
    assert "\n" not in line and "0.15–0.8 Å" in line and "--model conv-proto" in line


PEAK = r"""
import sys, threading, time
import torch  # noqa: F401  (imports are not the run's memory)
import ferromap.pipelines.predict  # noqa: F401
from ferromap.cli import main

def rss_anon_mb():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
base = rss_anon_mb()
peak = [base]
done = threading.Event()
def watch():
    while not done.is_set():
        peak[0] = max(peak[0], rss_anon_mb()); time.sleep(0.005)
threading.Thread(target=watch, daemon=True).start()
code = main(["predict", *sys.argv[1:], "--quiet"])
done.set()
print(code, f"{peak[0] - base:.1f}")
"""


@pytest.mark.slow
@pytest.mark.parametrize("model", ["context", "pca-knn"])
def test_predict_memory_does_not_grow_with_the_block(tmp_path, model):
    """Each 32 MiB block holds 4,096 of these 64×64 patterns; the crops, the lattice
    residual and the kNN distances work on a few hundred at a time, so a 72 MB memmapped
    file takes a few hundred MB above the imports (it took 1.1 GB with the default model and
    2.5 GB with PCA + kNN when whole blocks were cropped and compared)."""
    ds, _ = load_sample("two-domain")
    path = tmp_path / "tiled.npy"
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=ds.data.dtype,
                                   shape=(96, 96, *ds.frame_shape))
    mm[...] = np.tile(np.asarray(ds.data), (3, 2, 1, 1))
    mm.flush()
    del mm
    res = subprocess.run([sys.executable, "-c", PEAK, str(path), "--out", tmp_path / "out",
                          "--model", model, "--scan-step-nm", "0.049375"],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    code, grew_mb = res.stdout.split()[-2:]
    assert code == "0" and float(grew_mb) < 500, f"anonymous memory grew by {grew_mb} MB"
