from __future__ import annotations

import numpy as np

from ferromap.core.hotpixels import find_hot_pixels


def test_finds_persistent_hot_pixel_not_moving_disk(disk):
    rng = np.random.default_rng(5)
    frames = np.stack([rng.poisson(disk((32, 32), (16 + d, 15), 5, value=50)) for d in range(-4, 4)])
    frames = frames.astype(float)
    frames[:, 3, 27] += 400
    hot = find_hot_pixels(frames)
    assert hot.sum() == 1 and hot[3, 27]


def test_real_merlin_hot_pixel(realdata):
    from ferromap.io import open_4dstem

    ds = open_4dstem(realdata / "merlin/002_merlin_test_roi_sig256x128_nav4x2_hot_pixel_52x_39y.mib")
    frames = ds.data.reshape(8, 128, 256).compute()
    hot = find_hot_pixels(frames)
    assert list(zip(*np.nonzero(hot))) == [(88, 52)]


def test_median3x3_equals_a_rank_filter_with_ties_and_edges():
    from scipy.ndimage import median_filter

    from ferromap.core.hotpixels import median3x3

    rng = np.random.default_rng(0)
    for _ in range(50):
        shape = (2, *rng.integers(1, 12, size=2))
        frames = rng.integers(0, rng.integers(2, 50), size=shape).astype(np.float32)
        expected = median_filter(frames, size=(1, 3, 3), mode="nearest")
        np.testing.assert_array_equal(median3x3(frames), expected)


def test_median3x3_is_exact_for_every_ordering_of_nine_values():
    import itertools

    from ferromap.core.hotpixels import median3x3

    windows = np.array(list(itertools.permutations(range(9))), np.int32).reshape(-1, 3, 3)
    centre = median3x3(windows)[:, 1, 1]
    assert (centre == 4).all()
