"""Streaming inference equals a naive per-position loop; results land at the right place."""

from __future__ import annotations

import threading

import dask.array as da
import numpy as np
import pytest
import torch

from ferromap.anomaly import AnomalySettings
from ferromap.classes import KNN8
from ferromap.core.crop import crop_origin, preprocess_crops
from ferromap.errors import Cancelled, FerromapError
from ferromap.inference import predict_dataset
from ferromap.io.dataset import Calibration, Dataset4D
from ferromap.models import LoadedModel, ModelInfo, PolarizationNet
from synthetic import disk, lattice_scan


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    net = PolarizationNet("conv", "prototype", KNN8, {"size": 16})
    with torch.no_grad():
        net.head.set_prototypes(net(torch.rand(64, 1, 16, 16)), torch.arange(8).repeat(8))
    info = ModelInfo("small", "torch", KNN8, 16, 2.0, architecture=net.config,
                     ood={"nearest_distance_quantiles": {"0.99": 1.0}})
    return LoadedModel(info, net, "cpu")


@pytest.fixture
def dataset():
    rng = np.random.default_rng(0)
    rows, cols = 6, 7
    data = np.stack([[disk((32, 32), 15.5 + rng.normal(0, 0.7, 2), 5.0, value=200)
                      + rng.random((32, 32)) for _ in range(cols)] for _ in range(rows)])
    arr = da.from_array(data.astype(np.float32), chunks=(2, 3, 32, 32))
    return Dataset4D(arr, Calibration(mrad_per_px=2.0))


def naive(dataset, model):
    from ferromap.core.com import center_of_mass

    data = dataset.data.compute()
    com = center_of_mass(data)
    g = tuple(np.nanmean(com.reshape(-1, 2), axis=0))
    origin = crop_origin(g, 16, (32, 32))
    out = np.zeros(data.shape[:2] + (8,), np.float32)
    for r in range(data.shape[0]):
        for c in range(data.shape[1]):
            crop = preprocess_crops(data[r, c][None], origin, 16, 16)
            out[r, c] = model.predict(crop).probs[0]
    return out


def test_streaming_equals_naive_loop(dataset, small_model):
    maps = predict_dataset(dataset, small_model)
    np.testing.assert_allclose(maps.probs, naive(dataset, small_model), atol=1e-5)
    assert maps.labels.dtype == np.uint8 and maps.labels.shape == (6, 7)
    np.testing.assert_array_equal(maps.labels, maps.probs.argmax(-1))
    assert maps.confidence.dtype == np.float32 and (maps.confidence <= 1).all()
    assert abs(sum(maps.class_fractions().values()) - 1) < 1e-6
    assert maps.summary()["n_patterns"] == 42


def test_empty_patterns_are_not_classified(dataset, small_model):
    data = dataset.data.compute()
    data[2, 3] = 0
    maps = predict_dataset(Dataset4D(da.from_array(data), dataset.calibration), small_model)
    assert maps.labels[2, 3] == 255 and maps.confidence[2, 3] == 0


def test_resamples_to_the_model_sampling(dataset, small_model):
    coarse = Dataset4D(dataset.data, Calibration(mrad_per_px=1.0))  # needs a 32-px window
    maps = predict_dataset(coarse, small_model)
    assert maps.extra["crop_window_px"] == 32
    finer = Dataset4D(dataset.data, Calibration(mrad_per_px=0.5))  # needs 64 px: too small
    with pytest.raises(FerromapError, match="smaller than the 64-px window"):
        predict_dataset(finer, small_model)


def test_progress_and_cancel(dataset, small_model):
    seen = []
    predict_dataset(dataset, small_model, progress=lambda d, t: seen.append(d / t))
    assert seen[-1] == pytest.approx(1.0) and all(np.diff(seen) >= 0)
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        predict_dataset(dataset, small_model, cancel=stop)


@pytest.mark.slow
def test_distributed_local_cluster_gives_identical_maps(tmp_path, small_model):
    distributed = pytest.importorskip("distributed")
    from ferromap.io import open_4dstem

    rng = np.random.default_rng(1)
    data = np.stack([[disk((32, 32), 15.5 + rng.normal(0, 0.7, 2), 5.0, value=200)
                      for _ in range(5)] for _ in range(8)]).astype(np.float32)
    np.save(tmp_path / "d.npy", data)
    ds = open_4dstem(tmp_path / "d.npy").with_calibration(mrad_per_px=2.0)
    local = predict_dataset(ds, small_model)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = predict_dataset(ds, small_model, scheduler=client)
    np.testing.assert_array_equal(remote.labels, local.labels)
    np.testing.assert_allclose(remote.probs, local.probs, atol=1e-6)


def test_maps_carry_the_lattice_residual_and_flag_a_defect(small_model):
    data = lattice_scan()  # period (4, 6) scan px, a defect at (13, 17)
    ds = Dataset4D(da.from_array(data, chunks=(6, 30, 32, 32)), Calibration(mrad_per_px=2.0))
    maps = predict_dataset(ds, small_model)
    assert sorted(maps.extra["lattice"]["periods_px"]) == [4.0, 6.0]
    assert np.unravel_index(np.argmax(maps.periodic_z), maps.periodic_z.shape) == (13, 17)
    assert maps.anomaly_mask[13, 17]
    plain = predict_dataset(ds, small_model, anomaly=AnomalySettings(periodic=False))
    assert plain.periodic_z is None and plain.extra["lattice"] is None
