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


def test_virtual_image_reads_only_the_detector_bounding_box():
    rng = np.random.default_rng(3)
    data = rng.poisson(5.0, (3, 4, 24, 20)).astype(np.float32)
    mask = annulus_mask((24, 20), (6.5, 13.0), 4.0, 1.5)  # off-centre: a small box
    naive = (data * mask).sum(axis=(2, 3))
    rows, cols = np.nonzero(mask)
    outside = np.ones((24, 20), bool)
    outside[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = False
    data[:, :, outside] = np.nan  # read outside the box, these would poison every sum
    np.testing.assert_allclose(virtual_image(data, mask), naive, rtol=1e-6)
    lazy = da.from_array(data, chunks=(2, 2, 24, 20))
    np.testing.assert_allclose(virtual_image(lazy, mask), naive, rtol=1e-6)
    assert outside.mean() > 0.75
    empty = virtual_image(np.ones((3, 4, 24, 20), np.uint16), np.zeros((24, 20), bool))
    np.testing.assert_array_equal(empty, 0.0)
