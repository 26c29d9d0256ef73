"""A small untrained network, synthetic scans and a known two-domain map for pipeline tests."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from ferromap.classes import KNN8
from ferromap.core.geometry import measure_geometry
from ferromap.io.dataset import Calibration, Dataset4D


@pytest.fixture(scope="session")
def small_model():
    torch = pytest.importorskip("torch")
    from ferromap.models import LoadedModel, ModelInfo, PolarizationNet

    torch.manual_seed(0)
    net = PolarizationNet("conv", "prototype", KNN8, {"size": 16})
    with torch.no_grad():
        net.head.set_prototypes(net(torch.rand(64, 1, 16, 16)), torch.arange(8).repeat(8))
    info = ModelInfo("small", "torch", KNN8, 16, 2.0, architecture=net.config,
                     ood={"nearest_distance_quantiles": {"0.99": 1.0}})
    return LoadedModel(info, net, "cpu")


@pytest.fixture(scope="session")
def small_context_model():
    """An untrained scan-context model on 16-px crops at 2 mrad/px (0.1–1.3 Å steps)."""
    torch = pytest.importorskip("torch")
    from ferromap.core.features import RingHarmonics
    from ferromap.models import LoadedModel, ModelInfo
    from ferromap.models.context import ContextNet

    torch.manual_seed(0)
    basis = RingHarmonics(size=16, edges_px=(0.0, 2.0, 4.0, 6.0, 8.0), max_order=2)
    net = ContextNet(basis.n_features, 8, width=8, dilations=(1, 2))
    net.fit_standardisation(np.random.default_rng(0).normal(0, 0.05, (100, basis.n_features)),
                            basis)
    info = ModelInfo("small-context", "context", KNN8, 16, 2.0, "ring-harmonics",
                     {**net.config, "features": basis.to_dict(), "sampling_A": 0.25,
                      "scan_step_range_A": [0.1, 1.3]}, symmetry="d4")
    return LoadedModel(info, net, "cpu")


@pytest.fixture
def disk_dataset(disk):
    """6×7 positions of 32×32 disks jittered by ~0.7 px, at 2 mrad/px, 0.05 nm steps."""
    rng = np.random.default_rng(0)
    data = np.stack([[disk((32, 32), 15.5 + rng.normal(0, 0.7, 2), 5.0, value=200)
                      + rng.random((32, 32)) for _ in range(7)] for _ in range(6)])
    arr = da.from_array(data.astype(np.float32), chunks=(2, 3, 32, 32))
    return Dataset4D(arr, Calibration(mrad_per_px=2.0, scan_step_nm=0.05), "disks")


@pytest.fixture
def half_mu_maps(disk_dataset):
    """Maps that say MU on the left half and RM on the right, one confident RD at (1, 5)."""
    from ferromap.pipelines.predict import PolarizationMaps

    geometry = measure_geometry(disk_dataset.data, size=16, span=16)
    labels = np.zeros((6, 7), np.uint8)
    labels[:, :4] = KNN8.index("MU")
    labels[:, 4:] = KNN8.index("RM")
    labels[3:, 3] = KNN8.index("RM")  # 20 MU | 20 RM informative positions
    labels[1, 5] = KNN8.index("RD")
    labels[0, 0] = 255
    probs = np.full((6, 7, 8), 0.02, np.float32)
    np.put_along_axis(probs, np.minimum(labels, 7)[..., None].astype(int), 0.86, axis=-1)
    anomaly = np.zeros((6, 7), np.float32)
    anomaly[1, 5] = 0.9
    return PolarizationMaps(KNN8, labels, probs.max(-1), probs, np.ones((6, 7), np.float32),
                            np.zeros((6, 7), bool), anomaly, anomaly >= 0.5, geometry, "test",
                            1.5, scan_step_nm=0.05)
