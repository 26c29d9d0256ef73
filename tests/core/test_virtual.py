from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from ferromap.core.virtual import annulus_mask, estimate_bf_disk, virtual_image


def test_virtual_image_matches_naive_on_numpy_and_dask():
    data = np.random.default_rng(4).random((3, 5, 12, 12)).astype(np.float32)
    mask = annulus_mask((12, 12), (6, 6), outer=5, inner=2)
    naive = np.array([[(p * mask).sum() for p in row] for row in data])
    np.testing.assert_allclose(virtual_image(data, mask), naive, rtol=1e-5)
    np.testing.assert_allclose(virtual_image(da.from_array(data, chunks=(1, 2, 12, 12)), mask),
                               naive, rtol=1e-5)


def test_bf_disk_estimate(disk):
    pattern = disk((64, 64), (30.0, 35.0), 10.0)
    center, radius = estimate_bf_disk(pattern)
    assert center == pytest.approx((30.0, 35.0), abs=0.05)
    assert radius == pytest.approx(10.0, abs=0.3)
    with pytest.raises(ValueError, match="no intensity"):
        estimate_bf_disk(np.zeros((8, 8)))


def test_annulus_mask_rejects_bad_radii():
    with pytest.raises(ValueError):
        annulus_mask((8, 8), (4, 4), outer=1, inner=2)
