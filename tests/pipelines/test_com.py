"""The headless CoM job: one pass, hot pixels, descan plane, calibration, auto rotation."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.core.descan import fit_descan
from ferromap.core.shift import rotate_vectors
from ferromap.io import open_4dstem
from ferromap.pipelines.com import compute_com_maps


@pytest.fixture
def make_dataset(tmp_path, disk):
    return lambda shifts, **kw: _dataset(tmp_path, shifts, disk, **kw)


def _dataset(tmp_path, shifts, disk, *, ramp=(0.0, 0.0), hot=None):
    rows, cols = shifts.shape[:2]
    rr, cc = np.mgrid[0:rows, 0:cols]
    centers = 24 + shifts + np.stack([ramp[0] * rr, ramp[1] * cc], axis=-1)
    data = np.stack([[disk((48, 48), c, 8.0, value=500) for c in row] for row in centers])
    if hot is not None:
        data[..., hot[0], hot[1]] = 60000
    np.save(tmp_path / "d.npy", data.astype(np.uint16))
    return open_4dstem(tmp_path / "d.npy")


def test_descan_plane_and_hot_pixel(make_dataset):
    rng = np.random.default_rng(7)
    shifts = rng.normal(0, 0.4, (8, 9, 2))
    ds = make_dataset(shifts, ramp=(0.3, -0.2), hot=(5, 40))
    maps = compute_com_maps(ds, reference="plane")
    assert maps.hot_pixels[5, 40] and maps.hot_pixels.sum() == 1
    # the plane also absorbs the random shifts' own best-fit plane
    expected = shifts - fit_descan(shifts, lattice=None).surface
    assert np.abs(maps.shift - expected).max() < 0.03
    assert maps.virtual_bf.shape == (8, 9) and np.all(maps.virtual_bf > maps.virtual_adf)
    mean_centre = 24 + shifts.reshape(-1, 2).mean(axis=0) + (0.3 * 3.5, -0.2 * 4.0)
    assert maps.global_com == pytest.approx(tuple(mean_centre), abs=0.05)
    plain = compute_com_maps(ds, reference="plane", remove_hot_pixels=False)
    assert plain.global_com[1] > mean_centre[1] + 3  # the hot pixel at col 40 drags every CoM


def test_calibration_scales_to_mrad(make_dataset):
    shifts = np.zeros((4, 4, 2))
    shifts[1, 2] = (-1.0, 0.0)  # up by 1 px
    ds = make_dataset(shifts).with_calibration(mrad_per_px=0.5)
    maps = compute_com_maps(ds)
    assert maps.summary()["magnitude_units"] == "mrad"
    # the mean reference moves by 1/16 px up, so the shift is 15/16 px straight up
    assert maps.magnitude[1, 2] == pytest.approx(0.5 * 15 / 16, abs=0.01)
    assert maps.angle_deg[1, 2] == pytest.approx(90.0, abs=0.5)


def test_auto_rotation_applies_the_correction(make_dataset):
    rr, cc = np.mgrid[0:16, 0:16].astype(float)
    pot = np.exp(-((rr - 7.5) ** 2 + (cc - 7.5) ** 2) / 10)
    field = np.stack(np.gradient(pot), axis=-1) * 6
    detector = rotate_vectors(field, -40.0)  # a detector rotated by 40°
    ds = make_dataset(detector)
    maps = compute_com_maps(ds, rotation_deg="auto")
    assert maps.rotation_estimate is not None and not maps.flip
    # 180° is resolved only when the ADF image carries the atoms; here we check mod 180
    assert (maps.rotation_deg - 40.0) % 180 == pytest.approx(0, abs=1.5) or \
        (maps.rotation_deg - 40.0) % 180 == pytest.approx(180, abs=1.5)


def test_virtual_images_are_the_detector_sums_they_name(make_dataset):
    """BF: the disk; ADF: every pixel beyond 1.2 r + 1 (taken as all pixels less the inner
    disk); both without the hot pixel, as the detector images of those masks."""
    from ferromap.core.virtual import annulus_mask, virtual_image

    shifts = np.random.default_rng(3).normal(0, 1.5, (5, 6, 2))
    ds = make_dataset(shifts, hot=(5, 40))
    maps = compute_com_maps(ds)
    (centre, radius), good = maps.bf_disk, ~maps.hot_pixels
    data = np.load(ds.source).astype(np.float64)
    adf = annulus_mask(ds.frame_shape, centre, outer=np.inf, inner=1.2 * radius + 1) * good
    bf = annulus_mask(ds.frame_shape, centre, outer=radius) * good
    np.testing.assert_allclose(maps.virtual_adf, virtual_image(data, adf), rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(maps.virtual_bf, virtual_image(data, bf), rtol=1e-5)
    assert maps.virtual_adf.max() > 1000  # the shifted disks reach past 1.2 r + 1
