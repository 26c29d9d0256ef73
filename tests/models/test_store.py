"""Model files: round trips, and bad files that must fail without running code."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from ferromap.classes import KNN8
from ferromap.models import ModelFileError, ModelInfo, PcaKnn, PolarizationNet, load_model, save_model


def proto_model(tmp_path):
    torch.manual_seed(0)
    net = PolarizationNet("conv", "prototype", KNN8, {"size": 16})
    x = torch.rand(40, 1, 16, 16)
    y = torch.arange(8).repeat(5)
    with torch.no_grad():
        net.head.set_prototypes(net(x), y)
    info = ModelInfo("toy", "torch", KNN8, 16, 3.17, architecture=net.config)
    return save_model(tmp_path / "toy", net, info), x


def test_torch_round_trip(tmp_path):
    path, x = proto_model(tmp_path)
    model = load_model(path, device="cpu")
    assert model.info.crop_size == 16 and model.info.mrad_per_px == 3.17
    again = load_model(path, device="cpu").predict(x[:, 0].numpy())
    first = model.predict(x[:, 0].numpy())
    np.testing.assert_allclose(first.probs, again.probs, rtol=1e-6)
    assert np.isfinite(first.distance).all()
    np.testing.assert_allclose(first.probs.sum(1), 1, rtol=1e-5)


def test_pca_knn_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 30)
    crops = rng.normal(0, 0.05, (90, 8, 8)).astype(np.float32)
    for i, c in enumerate(y):  # a bright 3x3 block whose place depends on the class
        crops[i, 2 * c : 2 * c + 3, 2 * c : 2 * c + 3] += 1.0
    pk = PcaKnn.fit(crops, y, 3, n_components=5)
    assert (pk.predict(crops).labels == y).mean() == 1.0
    path = save_model(tmp_path / "pk", pk, ModelInfo("pk", "pca-knn", KNN8, 8))
    np.testing.assert_array_equal(load_model(path).predict(crops).probs, pk.predict(crops).probs)


def test_a_scan_reading_pca_knn_is_checked_when_it_loads(tmp_path):
    """A PCA + kNN model of scan statistics with an unreadable architecture is refused at
    load, with the file named, not with a KeyError at predict time."""
    from ferromap.core.features import RingHarmonics

    rng = np.random.default_rng(0)
    pk = PcaKnn.fit(rng.normal(size=(40, 4, 4)).astype(np.float32), np.arange(40) % 2, 2,
                    n_components=3)
    arch = {"reads": "scans", "features": RingHarmonics(size=64).to_dict(), "sampling_A": 0.33,
            "window_px": 19, "scan_step_range_A": [0.15, 1.3], "lattice_A": 3.95}
    path = save_model(tmp_path / "pk", pk, ModelInfo("pk", "pca-knn", KNN8, 64,
                                                      architecture=arch))
    assert load_model(path).reads_scans
    for broken in ({**arch, "sampling_A": 0}, {k: v for k, v in arch.items()
                                               if k != "scan_step_range_A"}):
        save_model(path, pk, ModelInfo("pk", "pca-knn", KNN8, 64, architecture=broken))
        with pytest.raises(ModelFileError, match="cannot read its scan architecture"):
            load_model(path)


def test_wrong_schema_and_version(tmp_path):
    path, _ = proto_model(tmp_path)
    meta = json.loads((path / "model.json").read_text())
    (path / "model.json").write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(ModelFileError, match="version 99"):
        load_model(path)
    (path / "model.json").write_text(json.dumps({**meta, "schema": "other"}))
    with pytest.raises(ModelFileError, match="not a ferromap model"):
        load_model(path)
    with pytest.raises(ModelFileError, match="no model.json"):
        load_model(tmp_path / "nothing")


def test_truncated_weights(tmp_path):
    path, _ = proto_model(tmp_path)
    w = path / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:1000])
    with pytest.raises(ModelFileError, match="cannot load the weights"):
        load_model(path)


class _Boom:
    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(_Boom.target),))


def test_foreign_pickle_is_refused_and_never_executed(tmp_path):
    path, _ = proto_model(tmp_path)
    _Boom.target = str(tmp_path / "pwned")
    (path / "weights.safetensors").write_bytes(pickle.dumps({"w": _Boom()}))
    with pytest.raises(ModelFileError):
        load_model(path)
    info = ModelInfo("pk", "pca-knn", KNN8, 8)
    pk_dir = tmp_path / "pk"
    pk_dir.mkdir()
    (pk_dir / "model.json").write_text(json.dumps(info.to_json()))
    with open(pk_dir / "pca_knn.npz", "wb") as f:
        np.save(f, np.array([_Boom()], dtype=object), allow_pickle=True)
    with pytest.raises(ModelFileError):
        load_model(pk_dir)
    assert not (tmp_path / "pwned").exists()


def test_cuda_request_without_cuda(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    path, _ = proto_model(tmp_path)
    from ferromap.errors import FerromapError

    with pytest.raises(FerromapError, match="CUDA was requested"):
        load_model(path, device="cuda")


def test_wrong_crop_size_is_a_clear_error(tmp_path):
    path, _ = proto_model(tmp_path)
    from ferromap.errors import FerromapError

    with pytest.raises(FerromapError, match="expects \\(n, 16, 16\\) crops"):
        load_model(path, device="cpu").predict(np.zeros((2, 32, 32), np.float32))


def test_shipped_conv_proto_bf16_agrees_with_fp32():
    from ferromap.data import load_sample
    from ferromap.models.store import resolve_precision
    from ferromap.training.preprocess import dataset_crops

    assert resolve_precision("auto", "cuda") == "fp32"
    assert resolve_precision("auto", "cpu") in ("fp32", "bf16")
    ds, _ = load_sample("two-domain")
    crops = dataset_crops(ds).crops
    fp = load_model("conv-proto", device="cpu", precision="fp32").predict(crops)
    bf = load_model("conv-proto", device="cpu", precision="bf16").predict(crops)
    assert (fp.labels == bf.labels).mean() > 0.98
    assert np.abs(fp.probs - bf.probs).max() < 0.02
