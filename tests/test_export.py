"""The `ferromap predict` file contract, written atomically."""

from __future__ import annotations

import csv
import json

import h5py
import numpy as np
import pytest
import tifffile

from ferromap.classes import KNN8
from ferromap.errors import FerromapError
from ferromap.export import CONTRACT_FILES, export_maps
from ferromap.inference import PolarizationMaps


@pytest.fixture
def maps():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(8), size=(4, 5)).astype(np.float32)
    labels = probs.argmax(-1).astype(np.uint8)
    labels[0, 0] = 255
    mask = np.zeros((4, 5), bool)
    mask[2, 2] = True
    return PolarizationMaps(KNN8, labels, probs.max(-1), probs, np.ones((4, 5), np.float32),
                            rng.random((4, 5)).astype(np.float32), np.eye(4, 5, dtype=bool),
                            mask.astype(np.float32), mask, (32.0, 32.0), "test", 1.5)


def test_every_contract_file(tmp_path, maps):
    export_maps(maps, tmp_path / "out")
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(CONTRACT_FILES)
    labels = tifffile.imread(out / "labels.tif")
    assert labels.dtype == np.uint8 and labels.shape == (4, 5) and labels[0, 0] == 255
    assert tifffile.imread(out / "confidence.tif").dtype == np.float32
    assert tifffile.imread(out / "anomaly.tif").dtype == np.float32
    assert tifffile.imread(out / "anomaly_mask.tif").dtype == np.uint8
    rows = list(csv.reader((out / "predictions.csv").open()))
    assert rows[0] == ["row", "col", "class", "confidence"] and len(rows) == 21
    assert rows[1][2] == "" and rows[2][2] == KNN8.names[maps.labels[0, 1]]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["classes"] == list(KNN8.names) and summary["n_patterns"] == 20
    assert summary["majority_class"] in KNN8.names and summary["model"] == "test"
    assert abs(sum(summary["class_fractions"].values()) - 1) < 1e-6
    with h5py.File(out / "maps.h5") as f:
        assert f["probs"].shape == (4, 5, 8) and list(f.attrs["classes"]) == list(KNN8.names)
    assert (out / "polarization.png").stat().st_size > 20_000


def test_refuses_to_overwrite_another_run(tmp_path, maps):
    export_maps(maps, tmp_path)
    with pytest.raises(FerromapError, match="--force"):
        export_maps(maps, tmp_path)
    export_maps(maps, tmp_path, force=True)
    assert not list(tmp_path.glob(".*part"))
