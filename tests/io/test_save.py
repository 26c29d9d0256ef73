from __future__ import annotations

import numpy as np
import pytest

from ferromap.errors import ReadError
from ferromap.io import Calibration, open_4dstem
from ferromap.io.save import save_4dstem
from ferromap.io.sidecar import read_label_map


@pytest.mark.parametrize("suffix", [".zarr", ".npy"])
def test_round_trip_with_calibration_and_labels(tmp_path, suffix):
    data = np.random.default_rng(0).random((3, 4, 8, 8)).astype(np.float32)
    labels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = save_4dstem(tmp_path / f"d{suffix}", data, calibration=Calibration(3.17, 0.05, 200.0),
                       labels=labels, metadata={"recipe": "x"})
    ds = open_4dstem(path)
    np.testing.assert_array_equal(ds.data.compute(), data)
    assert ds.calibration == Calibration(3.17, 0.05, 200.0)
    np.testing.assert_array_equal(read_label_map(path), labels)


def test_bad_shapes_and_missing_labels(tmp_path):
    with pytest.raises(ValueError, match="labels"):
        save_4dstem(tmp_path / "d.zarr", np.zeros((2, 2, 4, 4)), labels=np.zeros((3, 3)))
    with pytest.raises(ValueError, match=".zarr folder or a .npy"):
        save_4dstem(tmp_path / "d.h5", np.zeros((2, 2, 4, 4)))
    save_4dstem(tmp_path / "n.npy", np.zeros((2, 2, 4, 4)))
    with pytest.raises(ReadError, match="no labels"):
        read_label_map(tmp_path / "n.npy")
