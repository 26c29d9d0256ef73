"""The crop puts the beam at pixel size/2, sub-pixel, at any sampling; the published mirrored
crop does not."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.core.com import center_of_mass
from ferromap.core.crop import clamp_centres, extract_crops, minmax_normalize, model_input


def mirrored_centre(global_com, frame_shape):
    """The seed repository's crop_around_corrected_com (the bug we must not copy)."""
    centre = np.array(frame_shape) / 2
    return centre - (np.array(global_com) - centre)


def crop_com(crop):
    return center_of_mass(crop[None])[0]


def test_off_centre_disk_comes_out_centred(disk):
    pattern = disk((256, 256), (120.0, 127.0), 20.0)[None]
    g = center_of_mass(pattern[None])[0, 0]
    assert tuple(g) == pytest.approx((120.0, 127.0), abs=0.01)
    crop = extract_crops(pattern, g[None], 64, 64)
    assert crop.shape == (1, 64, 64)
    np.testing.assert_allclose(crop_com(crop)[0], (32.0, 32.0), atol=0.01)
    bad = extract_crops(pattern, mirrored_centre(g, (256, 256))[None], 64, 64)
    assert np.abs(crop_com(bad)[0] - 32).max() > 10


@pytest.mark.parametrize("centre", [(30.3, 33.8), (31.0, 32.0), (33.45, 30.55)])
def test_subpixel_centre_lands_on_pixel_half_size(disk, centre):
    pattern = disk((64, 64), centre, 8.0)[None]
    crop = extract_crops(pattern, np.array([centre]), 48, 48)
    np.testing.assert_allclose(crop_com(crop)[0], (24.0, 24.0), atol=0.01)


def test_resampling_is_area_weighting_and_keeps_the_centre(disk):
    pattern = disk((128, 128), (61.3, 66.6), 16.0)[None]
    crop = extract_crops(pattern, np.array([[61.3, 66.6]]), 96, 48)  # 2x coarser
    np.testing.assert_allclose(crop_com(crop)[0], (24.0, 24.0), atol=0.01)
    assert crop.sum() == pytest.approx(pattern.sum() / 4, rel=1e-3)  # each pixel averages 4
    whole = extract_crops(np.arange(16.0).reshape(1, 4, 4), np.array([[2.5, 2.5]]), 4, 2)
    np.testing.assert_allclose(whole[0], [[2.5, 4.5], [10.5, 12.5]])  # 2x2 block means


def test_identity_at_integer_centre():
    rng = np.random.default_rng(0)
    frames = rng.random((3, 20, 20)).astype(np.float32)
    crops = extract_crops(frames, np.array([[10.0, 10.0]] * 3), 12, 12)
    np.testing.assert_allclose(crops, frames[:, 4:16, 4:16], rtol=1e-6)


def test_window_follows_a_descanned_beam_then_clamps(disk):
    frame = (64, 64)
    np.testing.assert_allclose(clamp_centres(np.array([35.7, 28.2]), 64, 64, frame),
                               [35.7, 28.2])  # within the overhang (5.12 px): exact
    np.testing.assert_allclose(clamp_centres(np.array([40.0, 5.0]), 64, 64, frame),
                               [32 + 5.12, 32 - 5.12])
    with pytest.raises(ValueError, match="does not fit"):
        clamp_centres(np.zeros(2), 80, 64, frame)
    p = disk(frame, (34.6, 29.4), 8.0)[None]
    np.testing.assert_allclose(crop_com(extract_crops(p, np.array([[34.6, 29.4]]), 64, 64))[0],
                               (32.0, 32.0), atol=0.01)


def test_source_index_replaces_a_hot_pixel():
    frame = np.ones((1, 8, 8))
    frame[0, 3, 4] = 1e6
    index = np.arange(64).reshape(8, 8)
    index[3, 4] = 3 * 8 + 5  # read its neighbour instead
    crop = extract_crops(frame, np.array([[4.0, 4.0]]), 8, 8, source_index=index)
    assert crop.max() == 1.0


def test_model_input_is_minmax_and_checks_inputs():
    frames = np.random.default_rng(1).random((2, 16, 16)) * 50 + 7
    x = model_input(frames, np.array([[8.0, 8.0]] * 2), 8, 8)
    assert x.dtype == np.float32 and x.min() == 0 and x.max() == pytest.approx(1)
    with pytest.raises(ValueError, match="centres must be"):
        extract_crops(frames, np.zeros((3, 2)), 8, 8)
    with pytest.raises(ValueError, match="block must be"):
        extract_crops(frames[0], np.zeros((1, 2)), 8, 8)


def test_minmax_normalize():
    x = np.array([[[1.0, 3.0], [5.0, np.nan]], [[2.0, 2.0], [2.0, 2.0]]])
    out = minmax_normalize(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0], [[0.2, 0.6], [1.0, 0.0]])
    np.testing.assert_array_equal(out[1], 0)
