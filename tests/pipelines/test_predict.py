"""Streaming prediction: every block lands where it came from, each crop on its own beam."""

from __future__ import annotations

import threading
from dataclasses import replace

import dask.array as da
import numpy as np
import pytest

from ferromap.core.crop import model_input
from ferromap.core.geometry import measure_geometry
from ferromap.errors import Cancelled, FerromapError
from ferromap.io.dataset import Calibration, Dataset4D
from ferromap.pipelines.anomaly import AnomalySettings
from ferromap.pipelines.predict import predict_dataset

from ..conftest import naive_features


def naive(dataset, model):
    data = dataset.data.compute()
    g = measure_geometry(data, size=16, span=16)
    out = np.zeros(data.shape[:2] + (8,), np.float32)
    for r, c in np.ndindex(*data.shape[:2]):
        crop = model_input(data[r, c][None], g.centres[r, c][None], 16, 16)
        out[r, c] = model.predict(crop).probs[0]
    return out


def test_streaming_equals_a_per_position_loop(disk_dataset, small_model):
    maps = predict_dataset(disk_dataset, small_model)
    np.testing.assert_allclose(maps.probs, naive(disk_dataset, small_model), atol=1e-5)
    assert maps.labels.dtype == np.uint8 and maps.labels.shape == (6, 7)
    np.testing.assert_array_equal(maps.labels, maps.probs.argmax(-1))
    assert maps.confidence.dtype == np.float32 and (maps.confidence <= 1).all()
    summary = maps.summary()
    assert summary["n_patterns"] == 42 and summary["geometry"]["crop_span_px"] == 16
    assert summary["mrad_per_px_source"] == "file" and summary["calibration_estimate"] is None


def test_empty_patterns_are_not_classified(disk_dataset, small_model):
    data = disk_dataset.data.compute()
    data[2, 3] = 0
    maps = predict_dataset(replace(disk_dataset, data=da.from_array(data)), small_model)
    assert maps.labels[2, 3] == 255 and maps.confidence[2, 3] == 0


def test_resamples_to_the_model_sampling_or_refuses(disk_dataset, small_model):
    coarse = disk_dataset.with_calibration(mrad_per_px=1.0)  # needs a 32-px window: fits
    assert predict_dataset(coarse, small_model).geometry.span == 32
    finer = disk_dataset.with_calibration(mrad_per_px=0.5)  # needs 64 px of a 32-px frame
    with pytest.raises(FerromapError, match="cover only"):
        predict_dataset(finer, small_model)


def test_unknown_sampling_is_estimated_from_the_disk(disk_dataset, small_model):
    blind = replace(disk_dataset, calibration=Calibration())
    maps = predict_dataset(blind, small_model, semiangle_mrad=10.0)
    est = maps.calibration
    assert est is not None and est.semiangle_source == "user"
    assert est.bf_radius_px == pytest.approx(5.0, abs=0.3)  # the disks have a 5 px radius
    assert maps.summary()["calibration_estimate"]["mrad_per_px"] == pytest.approx(2.0, rel=0.07)
    assert maps.extra["mrad_per_px_source"] == "estimated"


def test_progress_and_cancel(disk_dataset, small_model):
    seen = []
    predict_dataset(disk_dataset, small_model, progress=lambda d, t: seen.append(d / t))
    assert seen[-1] == pytest.approx(1.0) and all(np.diff(seen) >= 0)
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        predict_dataset(disk_dataset, small_model, cancel=stop)


def test_class_set_mismatch_is_refused(disk_dataset, small_model):
    labelled = replace(disk_dataset, metadata={"classes": {"names": ["a", "b"]}})
    with pytest.raises(FerromapError, match="labelled with a, b"):
        predict_dataset(labelled, small_model)


@pytest.mark.slow
def test_distributed_local_cluster_gives_identical_maps(tmp_path, small_model, disk,
                                                        monkeypatch):
    """Identical maps on a cluster, whose workers compute the kernels with numpy even for a
    model on a GPU (here a device namespace that cannot bring results back: it fails the
    local run, so the cluster's success shows it was never used there)."""
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("torch")
    from ferromap.io import open_4dstem
    from ferromap.models.device import TorchNamespace

    rng = np.random.default_rng(1)
    data = np.stack([[disk((32, 32), 15.5 + rng.normal(0, 0.7, 2), 5.0, value=200)
                      for _ in range(5)] for _ in range(8)]).astype(np.float32)
    np.save(tmp_path / "d.npy", data)
    ds = open_4dstem(tmp_path / "d.npy").with_calibration(mrad_per_px=2.0)
    local = predict_dataset(ds, small_model)
    monkeypatch.setattr(small_model, "xp", TorchNamespace("meta"))
    with pytest.raises(NotImplementedError):
        predict_dataset(ds, small_model)
    seen = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = predict_dataset(ds, small_model, scheduler=client,
                                 progress=lambda d, t: seen.append(d / t))
    np.testing.assert_array_equal(remote.labels, local.labels)
    np.testing.assert_allclose(remote.probs, local.probs, atol=1e-6)
    assert seen[-1] == 1.0


def test_maps_carry_the_lattice_residual_and_flag_a_defect(small_model, lattice_scan):
    data = lattice_scan()  # period (4, 6) scan px, a defect at (13, 17)
    ds = Dataset4D(da.from_array(data, chunks=(6, 30, 32, 32)), Calibration(mrad_per_px=2.0))
    maps = predict_dataset(ds, small_model)
    assert sorted(maps.extra["lattice"]["periods_px"]) == pytest.approx([4.0, 6.0], rel=0.01)
    assert np.unravel_index(np.argmax(maps.periodic_z), maps.periodic_z.shape) == (13, 17)
    assert maps.anomaly_mask[13, 17]
    plain = predict_dataset(ds, small_model, anomaly=AnomalySettings(periodic=False))
    assert plain.periodic_z is None and plain.extra["lattice"] is None


def test_summary_reports_domains_when_no_class_holds_the_map(half_mu_maps):
    s = half_mu_maps.summary()
    assert not s["has_majority"] and s["majority_class"] in ("MU", "RM")
    names = [d["class"] for d in s["domains"]]
    assert names[:2] == ["RM", "MU"] or names[:2] == ["MU", "RM"]
    assert s["description"].startswith("2 domains")
    left = [d for d in s["domains"] if d["class"] == "MU"][0]
    assert left["centroid_px"][1] < 2 and left["area_nm2"] == pytest.approx(
        left["n_positions"] * 0.05**2, rel=0.02)


def test_a_map_without_an_informative_position_claims_no_majority(half_mu_maps):
    from dataclasses import replace

    blind = replace(half_mu_maps, low_info=np.ones_like(half_mu_maps.low_info))
    s = blind.summary()
    assert s["majority_class"] is None and not s["has_majority"] and s["n_informative"] == 0
    assert set(s["class_fractions"].values()) == {0.0} and s["domains"] == []
    assert s["description"] == "no informative position: all 42 are low-information"
    assert s["majority_class_all_positions"] in ("MU", "RM")  # what the map itself shows
    assert half_mu_maps.summary()["n_informative"] == 41


def test_a_context_model_reads_the_features_of_every_position(disk_dataset,
                                                              small_context_model):
    """The context model's map is its prediction on the streamed feature map (computed as a
    per-position loop would), and the summary records the step it read the scan at."""
    from ferromap.core.features import RingHarmonics

    model = small_context_model
    ds = disk_dataset.with_calibration(scan_step_nm=0.08)  # 6 × 7 positions span 4 × 4.8 Å
    maps = predict_dataset(ds, model, scheduler="synchronous")
    data = disk_dataset.data.compute()
    g = measure_geometry(data, size=16, span=16)
    basis = RingHarmonics.from_dict(model.info.architecture["features"])
    expected = model.predict_map(naive_features(data, g, basis), 0.8)
    np.testing.assert_allclose(maps.probs.reshape(-1, 8), expected.probs, atol=1e-5)
    np.testing.assert_allclose(maps.confidence.ravel(), expected.confidence, atol=1e-5)
    summary = maps.summary()
    assert summary["scan_step_A"] == pytest.approx(0.8)
    assert np.isnan(maps.distance).all()


def test_a_context_model_needs_a_scan_step_it_can_read(disk_dataset, small_context_model):
    blind = disk_dataset.with_calibration(scan_step_nm=None)
    with pytest.raises(FerromapError, match="no lattice repeats") as err:
        predict_dataset(blind, small_context_model)  # jittered disks: no lattice
    assert "--scan-step-nm" in err.value.cli_hint
    passes = []  # refusals of a known step or a tiny scan come before any pass over the data
    coarse = disk_dataset.with_calibration(scan_step_nm=0.5)  # 5 Å: no lattice to read
    with pytest.raises(FerromapError, match="steps of 0.1–1.3 Å; this scan's step is 5 Å"):
        predict_dataset(coarse, small_context_model, progress=lambda d, t: passes.append(d))
    small = disk_dataset.with_calibration(scan_step_nm=0.05)  # 6 × 7 positions: 2.5 × 3 Å
    with pytest.raises(FerromapError, match="spans only 2.5 Å along one axis") as err:
        predict_dataset(small, small_context_model, progress=lambda d, t: passes.append(d))
    assert "conv-proto" in err.value.gui_hint
    tiny = blind.subscan(slice(0, 3))  # 3 positions: at most 2.6 Å even at 1.3 Å steps
    with pytest.raises(FerromapError, match="has 3 positions .* less than one 3.95 Å cell"):
        predict_dataset(tiny, small_context_model, progress=lambda d, t: passes.append(d))
    assert passes == []


def test_an_unknown_scan_step_is_estimated_from_the_lattice(small_context_model, lattice_scan):
    """A scan whose patterns repeat every 6 positions along both axes: with a 3.95 Å cell the
    step is 3.95 / 6 Å, estimated, recorded and used."""
    data = lattice_scan(rows=24, cols=24, period=(6, 6))
    ds = Dataset4D(da.from_array(data, chunks=(6, 24, 32, 32)), Calibration(mrad_per_px=2.0),
                   "lattice")
    model = small_context_model
    maps = predict_dataset(ds, model, scheduler="synchronous",
                           anomaly=AnomalySettings(periodic=False))
    est = maps.summary()["scan_step_estimate"]
    assert est["period_px"] == pytest.approx(6.0, abs=0.1)
    assert maps.summary()["scan_step_A"] == pytest.approx(3.95 / 6, rel=0.02)
    assert maps.scan_step_nm is None  # the maps keep the data's own (unknown) scale
    assert est["message"].startswith("scan step unknown: estimated")


@pytest.mark.parametrize("name, symmetrize", [("context", None), ("conv-proto", True)])
def test_kernels_on_a_torch_device_give_the_host_maps(name, symmetrize):
    """What a GPU model runs (raw blocks uploaded, CoM, crops and features on the device),
    here on torch's CPU device, gives the maps of the numpy kernels on the bundled sample."""
    from ferromap.data import load_sample
    from ferromap.models import load_model
    from ferromap.models.device import TorchNamespace

    dataset, _ = load_sample("two-domain")
    model = load_model(name, device="cpu", symmetrize=symmetrize)
    assert model.xp is None  # numpy on the host threads
    host = predict_dataset(dataset, model, anomaly=AnomalySettings(periodic=False))
    uploads = []

    class Counting(TorchNamespace):
        def asarray(self, a):
            if isinstance(a, np.ndarray) and a.ndim >= 3:  # a block of patterns
                uploads.append(a.shape)
            return super().asarray(a)

    model.xp = Counting("cpu")
    device = predict_dataset(dataset, model, anomaly=AnomalySettings(periodic=False))
    assert sum(np.prod(s[:-2]) for s in uploads) == 2 * dataset.n_patterns  # CoM, then model
    np.testing.assert_allclose(device.geometry.com, host.geometry.com, rtol=1e-6, atol=1e-6)
    assert (device.labels == host.labels).mean() > 0.999
    np.testing.assert_allclose(device.probs, host.probs, atol=1e-3)


def test_the_python_entry_points_say_what_to_pass():
    from ferromap.io import Calibration
    from ferromap.models import load_model
    from ferromap.pipelines.com import compute_com_maps
    from ferromap.pipelines.predict import run_predict

    array = np.zeros((2, 2, 16, 16), np.float32)
    for call in (lambda: run_predict(array), lambda: run_predict("data.npy"),
                 lambda: compute_com_maps(array)):
        with pytest.raises(TypeError, match="must be a ferromap Dataset4D.*open_4dstem"):
            call()
    with pytest.raises(FerromapError, match="unknown precision 'int8'"):
        load_model("pca-knn", precision="int8")  # a model that has no precision to set
    with pytest.raises(TypeError, match="mrad_per_px must be a number"):
        Calibration(mrad_per_px="3")
