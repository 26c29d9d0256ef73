from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from ferromap.core.features import FeatureKernel, RingHarmonics, pattern_features
from ferromap.core.geometry import measure_geometry
from ferromap.core.stream import run

from ..conftest import naive_features


def test_basis_channels_and_shape():
    basis = RingHarmonics()
    assert basis.n_features == 8 * 9 == basis.matrix.shape[1]
    assert basis.matrix.shape[0] == 64 * 64
    assert basis.channels()[:3] == [(0, 0, "0"), (0, 1, "cos"), (0, 1, "sin")]
    rings = basis.matrix[:, [k for k, (_, m, _) in enumerate(basis.channels()) if m == 0]]
    assert rings.sum(axis=1).max() == 1.0  # every pixel in at most one ring
    assert RingHarmonics.from_dict(basis.to_dict()) == basis


@pytest.mark.parametrize("bad", [dict(edges_px=(1.0, 3.0)), dict(edges_px=(0.0, 40.0)),
                                 dict(edges_px=(0.0, 5.0, 4.0)), dict(max_order=-1)])
def test_basis_rejects_bad_rings(bad):
    with pytest.raises(ValueError):
        RingHarmonics(**bad)


def test_features_are_dose_free_fractions_and_the_first_order_is_the_com(disk):
    basis = RingHarmonics()
    pattern = disk((64, 64), (31.0, 33.5), 8.0)  # centre 1 px up, 1.5 px right of (32, 32)
    f = pattern_features(pattern[None], basis)[0]
    g = pattern_features(7.0 * pattern[None] + 2.0, basis, background=2.0)[0]
    np.testing.assert_allclose(f, g, rtol=1e-4, atol=1e-6)  # dose and background drop out
    ring0 = [k for k, c in enumerate(basis.channels()) if c[1] == 0]
    assert f[ring0].sum() == pytest.approx(1.0, abs=1e-5)
    cos1 = [k for k, c in enumerate(basis.channels()) if c[1:] == (1, "cos")]
    sin1 = [k for k, c in enumerate(basis.channels()) if c[1:] == (1, "sin")]
    assert sum(f[cos1]) > 0 and sum(f[sin1]) > 0  # mass to the right (+cos) and up (+sin)
    assert sum(f[cos1]) > sum(f[sin1])
    with pytest.raises(ValueError, match="crops must be"):
        pattern_features(np.zeros((2, 32, 32)), basis)


def test_feature_kernel_matches_a_naive_reference_on_every_executor(shifted_disks):
    data, _ = shifted_disks
    data = np.pad(data, ((0, 0), (0, 0), (16, 16), (16, 16))) + 0.5  # 64 px frames, pedestal
    basis = RingHarmonics()
    g = measure_geometry(data, size=64, span=64.0)
    naive = naive_features(data, g, basis)
    kernel = FeatureKernel(g, basis)
    for source, scheduler in ((data, "synchronous"), (data, "threads"),
                              (da.from_array(data, chunks=(2, 3, 64, 64)), None)):
        out = run(source, kernel, scheduler=scheduler)["features"]
        np.testing.assert_allclose(out, naive, rtol=1e-5, atol=1e-7)
    # the pedestal was found and subtracted as the detector background
    assert g.plan.background == pytest.approx(0.5, abs=0.05)


def test_feature_kernel_checks_the_crop_size(shifted_disks):
    data, _ = shifted_disks
    g = measure_geometry(data, size=16, span=16.0)
    with pytest.raises(ValueError, match="same size"):
        FeatureKernel(g, RingHarmonics())
