"""``ferromap train`` of the scan-context models on a toy bank: the network and PCA + kNN of
the polar statistics train, save, reload and read scans, and the statistics point along the
polarization."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.classes import KNN8
from ferromap.core.features import RingHarmonics, polar_statistics
from ferromap.io.dataset import Calibration
from ferromap.io.save import save_4dstem
from ferromap.models import load_model
from ferromap.training.config import TrainConfig

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def toy_bank(tmp_path_factory, polar_cell_scan):
    """Six toy entries, RM and RU alternating (of every 3, the last two are held out)."""
    folder = tmp_path_factory.mktemp("bank")
    for i in range(6):
        label = i % 2
        data = polar_cell_scan(45.0 * label, n=16)
        save_4dstem(folder / f"entry-{i:04d}.zarr", data,
                    calibration=Calibration(3.1746, 2 * 0.395 / 16, 200.0),
                    labels=np.full((16, 16), label, np.uint8), metadata={"classes": KNN8.to_dict()})
    return folder


def _config(bank, out, **kw) -> TrainConfig:
    base = dict(name="toy", bank=str(bank), bank_val_every=3, bank_val_repeats=1,
                bank_scans=16, symmetry="d4", epochs=3, patience=3, batch_size=4, lr=3e-3,
                weight_decay=0.0, seed=1, out=str(out),
                nuisances={"p_noise_free": 1.0, "p_dark": 0.0, "source_fwhm_A": [0.0, 0.2]},
                encoder_kwargs={"width": 12, "dilations": [1, 2], "window": 12})
    return TrainConfig(**{**base, **kw})


def _toml(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return f'"{value}"' if isinstance(value, str) else str(value).lower() \
        if isinstance(value, bool) else repr(value)


def train_from_the_cli(config: TrainConfig, tmp_path, capsys) -> dict:
    """``ferromap train --config`` as a user runs it; the training record of the saved model."""
    import dataclasses
    import json
    from pathlib import Path

    from ferromap.cli import main

    path = tmp_path / "train.toml"
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
              if getattr(config, f.name) is not None}
    path.write_text("\n".join(f"{k} = {_toml(v)}" for k, v in fields.items()))
    assert main(["train", "--config", str(path), "--quiet"]) == 0
    assert f"model saved to {config.out}" in capsys.readouterr().out
    return json.loads((Path(config.out) / "model.json").read_text())["training"]


def test_the_context_network_trains_saves_and_reads_scans(tmp_path, toy_bank, capsys):
    record = train_from_the_cli(_config(toy_bank, tmp_path / "ctx", model="context"), tmp_path,
                                capsys)
    history = record["history"]
    assert len(history["val_loss"]) == 3 and np.isfinite(history["val_loss"]).all()
    assert history["best_epoch"] == int(np.argmin(history["val_loss"]))  # its weights are kept
    assert record["n_train_scans"] == 16 and record["bank_entries"] == {"train": 2,
                                                                        "validation": 4}
    again = load_model(tmp_path / "ctx", device="cpu")
    assert again.reads_scans and again.info.calibrated and again.passes == 8
    fmap = np.random.default_rng(0).normal(0, 0.02, (9, 11, RingHarmonics().n_features))
    pred = again.predict_map(fmap.astype(np.float32), 0.4)
    assert pred.probs.shape == (99, 8) and np.all((pred.confidence >= 0) & (pred.confidence <= 1))


def test_pca_knn_of_the_polar_statistics(tmp_path, toy_bank, capsys):
    record = train_from_the_cli(_config(toy_bank, tmp_path / "knn", model="context-pca-knn",
                                        bank_positions=20,
                                        encoder_kwargs={"window_px": 7, "n_components": 8}),
                                tmp_path, capsys)
    assert record["n_examples"] == 16 * 8 * 20 and record["trained_symmetry"] == "d4"
    again = load_model(tmp_path / "knn", device="cpu")
    assert again.reads_scans and again.info.kind == "pca-knn" and again.passes == 1
    fmap = np.random.default_rng(0).normal(0, 0.02, (9, 11, RingHarmonics().n_features))
    pred = again.predict_map(fmap.astype(np.float32), 0.4)
    assert pred.probs.shape == (99, 8)
    np.testing.assert_allclose(pred.probs.sum(axis=1), 1.0, atol=1e-5)


def test_polar_statistics_point_along_the_displacement():
    """A ring intensity that peaks on a column and a deflection that points at another column
    displaced by ``d``: the covariance is zero without ``d`` and follows its sign along it."""
    basis = RingHarmonics(size=8, edges_px=(0.0, 2.0, 4.0), max_order=1)
    cols = np.arange(24)

    def feature_map(d):
        f = np.zeros((5, 24, basis.n_features))
        f[..., 0] = np.cos(2 * np.pi * cols / 8)  # ring 0 intensity: columns every 8 positions
        f[..., 1] = -np.sin(2 * np.pi * (cols - d) / 8)  # ring 0 deflection (+col) at them
        return f

    center = polar_statistics(feature_map(0.0), basis, 9)[2, 12]
    right = polar_statistics(feature_map(0.5), basis, 9)[2, 12]
    left = polar_statistics(feature_map(-0.5), basis, 9)[2, 12]
    cos_rows = slice(0, 4)  # the cos (+col) covariances come first
    assert np.abs(center).max() < 1e-3
    assert right[cos_rows][0] > 0.05 and left[cos_rows][0] < -0.05
    np.testing.assert_allclose(right[4:], 0.0, atol=1e-9)  # nothing along rows
    with pytest.raises(ValueError, match="odd"):
        polar_statistics(feature_map(0.0), basis, 4)
