"""The bundled samples are what their descriptions say."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.classes import KNN8
from ferromap.data import SAMPLES, load_sample
from ferromap.errors import FerromapError


def test_two_domain_sample():
    ds, truth = load_sample("two-domain")
    assert ds.data.shape == (32, 48, 64, 64) and ds.data.dtype == np.uint16
    assert ds.calibration.mrad_per_px == pytest.approx(3.1746, abs=1e-3)
    assert set(np.unique(truth[:, :24])) == {KNN8.index("MU")}
    assert set(np.unique(truth[:, 24:])) == {KNN8.index("RM")}
    counts = ds.data[:4].sum(axis=(2, 3)).compute()
    assert 0.9e5 < counts.mean() < 1.01e5  # 1e5 e-/pattern, most inside the detector


def test_single_direction_sample_and_unknown_name():
    ds, truth = load_sample("single-ru")
    assert ds.scan_shape == (16, 16) and (truth == KNN8.index("RU")).all()
    assert set(SAMPLES) == {"two-domain", "single-ru"}
    with pytest.raises(FerromapError, match="unknown sample"):
        load_sample("nope")
