from __future__ import annotations

import numpy as np

from ferromap.core.com import center_of_mass
from ferromap.training.augment import AugmentConfig, Augmenter


def test_output_range_and_determinism(disk):
    crop = disk((64, 64), (32, 32), 8).astype(np.float32) / 100
    aug = Augmenter()
    a = [aug(crop, np.random.default_rng(3)) for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])
    many = np.stack([aug(crop, np.random.default_rng(i)) for i in range(50)])
    assert many.dtype == np.float32 and many.min() >= 0 and many.max() <= 1
    assert len({m.tobytes() for m in many}) > 40


def test_all_off_is_identity_and_descan_is_bounded(disk):
    crop = disk((64, 64), (32, 32), 8).astype(np.float32) / 100
    off = AugmentConfig(p_blur=0, p_brightness_contrast=0, p_gauss_noise=0, p_shot_noise=0,
                        p_descan=0)
    np.testing.assert_allclose(Augmenter(off)(crop, np.random.default_rng(0)), crop, atol=1e-6)
    only_descan = AugmentConfig(p_blur=0, p_brightness_contrast=0, p_gauss_noise=0,
                                p_shot_noise=0, p_descan=1.0, max_descan_px=1.0)
    shifted = np.stack([Augmenter(only_descan)(crop, np.random.default_rng(i)) for i in range(20)])
    moves = center_of_mass(shifted[None])[0] - 32.0  # the disk is centred on pixel 32
    assert np.abs(moves).max() <= 1.05 and np.abs(moves).max() > 0.2


def test_blur_keeps_the_centre_of_mass(disk):
    crop = disk((64, 64), (30.3, 33.7), 8).astype(np.float32) / 100
    blur = AugmentConfig(p_blur=1.0, p_brightness_contrast=0, p_gauss_noise=0, p_shot_noise=0,
                         p_descan=0)
    out = Augmenter(blur)(crop, np.random.default_rng(0))
    np.testing.assert_allclose(center_of_mass(out[None, None])[0, 0], (30.3, 33.7), atol=0.15)
