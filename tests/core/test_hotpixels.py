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
