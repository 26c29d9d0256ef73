"""CoM kernels against a naive loop, on numpy and dask, plus sub-pixel physics checks."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from ferromap.core.com import center_of_mass
from ferromap.core.virtual import annulus_mask


def naive_com(data, weights=None, threshold=None):
    rows, cols, kr, kc = data.shape
    out = np.full((rows, cols, 2), np.nan)
    w = np.ones((kr, kc)) if weights is None else weights
    for i in range(rows):
        for j in range(cols):
            p = data[i, j].astype(np.float64)
            if threshold is not None:
                p = np.where(p >= threshold, p, 0)
            total = 0.0
            sr = sc = 0.0
            for r in range(kr):
                for c in range(kc):
                    total += w[r, c] * p[r, c]
                    sr += r * w[r, c] * p[r, c]
                    sc += c * w[r, c] * p[r, c]
            if total > 0:
                out[i, j] = sr / total, sc / total
    return out


@pytest.fixture(params=["numpy", "dask"])
def wrap(request):
    if request.param == "numpy":
        return lambda a: a
    return lambda a: da.from_array(a, chunks=(2, 3, -1, -1))


def test_matches_naive_loop(wrap):
    data = np.random.default_rng(2).integers(0, 1000, (4, 5, 9, 11)).astype(np.uint16)
    np.testing.assert_allclose(center_of_mass(wrap(data)), naive_com(data), rtol=1e-5)


def test_mask_and_threshold_match_naive(wrap):
    data = np.random.default_rng(3).random((3, 4, 10, 10)).astype(np.float32)
    mask = annulus_mask((10, 10), (4.5, 5.0), outer=4, inner=1.5)
    got = center_of_mass(wrap(data), mask=mask, threshold=0.3)
    np.testing.assert_allclose(got, naive_com(data, mask.astype(float), 0.3), rtol=1e-5)


def test_subpixel_disk_shift_is_recovered(wrap, shifted_disks):
    data, centers = shifted_disks
    np.testing.assert_allclose(center_of_mass(wrap(data)), centers, atol=0.01)


def test_hot_pixel_is_excluded(wrap, shifted_disks):
    data, centers = shifted_disks
    hot = data.copy()
    hot[..., 2, 29] = 5e4  # a dominating hot pixel far from the disk
    assert np.abs(center_of_mass(wrap(hot)) - centers).max() > 1
    mask = np.zeros((32, 32), bool)
    mask[2, 29] = True
    np.testing.assert_allclose(center_of_mass(wrap(hot), hot_pixels=mask), centers, atol=0.02)


def test_empty_and_nan_patterns_give_nan_without_warnings(wrap, recwarn):
    data = np.ones((2, 3, 4, 4), np.float32)
    data[0, 1] = 0
    data[1, 2, 1, 1] = np.nan
    com = center_of_mass(wrap(data))
    assert np.isnan(com[0, 1]).all() and np.isnan(com[1, 2]).all()
    np.testing.assert_allclose(com[0, 0], (1.5, 1.5))
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_progress_and_cancel():
    import threading

    from ferromap.errors import Cancelled

    data = da.ones((8, 8, 4, 4), chunks=(1, 8, 4, 4))
    seen = []
    center_of_mass(data, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1] and len(seen) >= 8
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        center_of_mass(data, cancel=stop)
