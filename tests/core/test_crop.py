"""The crop centres the beam; the published mirrored crop does not."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.core.com import center_of_mass
from ferromap.core.crop import crop_origin, crop_patterns, minmax_normalize
from synthetic import disk


def mirrored_origin(global_com, size, frame_shape):
    """The seed repository's crop_around_corrected_com (the bug we must not copy)."""
    centre = np.array(frame_shape) / 2
    mirrored = centre - (np.array(global_com) - centre)
    return tuple(int(v) for v in np.round(mirrored - size / 2))


def test_off_centre_disk_comes_out_centred():
    pattern = disk((256, 256), (120.0, 127.0), 20.0)[None, None]
    g = tuple(center_of_mass(pattern)[0, 0])
    assert g == pytest.approx((120.0, 127.0), abs=0.01)
    crop = crop_patterns(pattern, crop_origin(g, 64, (256, 256)), 64)
    assert crop.shape == (1, 1, 64, 64)
    np.testing.assert_allclose(center_of_mass(crop)[0, 0], (32.0, 32.0), atol=0.01)
    bad = crop_patterns(pattern, mirrored_origin(g, 64, (256, 256)), 64)
    assert np.abs(center_of_mass(bad)[0, 0] - 32).max() > 10


def test_origin_is_clamped_to_the_frame():
    assert crop_origin((5.0, 250.0), 64, (256, 256)) == (0, 192)
    with pytest.raises(ValueError, match="larger"):
        crop_origin((10, 10), 64, (32, 32))
    with pytest.raises(ValueError, match="not finite"):
        crop_origin((np.nan, 1.0), 8, (32, 32))


def test_minmax_normalize():
    x = np.array([[[1.0, 3.0], [5.0, np.nan]], [[2.0, 2.0], [2.0, 2.0]]])
    out = minmax_normalize(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0], [[0.2, 0.6], [1.0, 0.0]])
    np.testing.assert_array_equal(out[1], 0)
