"""The kernels computed on a torch device give numpy's answers (run here on torch's CPU
device; ``benchmarks/gpu_check.sh`` runs the same on a GPU)."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.core.crop import extract_crops, model_input
from ferromap.core.features import RingHarmonics, pattern_features
from ferromap.core.stream import LinearKernel

torch = pytest.importorskip("torch")
from ferromap.models.device import TorchNamespace, namespace  # noqa: E402

XP = TorchNamespace("cpu")


@pytest.mark.parametrize("values", [np.array([0, 1, 32767, 32768, 40000, 65535], np.uint16),
                                    np.array([0, 2**31 - 1, 2**31, 4_000_000_000], np.uint32),
                                    np.array([3, 513, 65535], ">u2"),
                                    np.array([-5, 7], np.int16), np.array([0.5, 2.0], ">f4")])
def test_blocks_keep_their_values_on_the_device(values):
    on_device = XP.asarray(values)
    np.testing.assert_array_equal(XP.to_host(on_device).astype(np.float64),
                                  values.astype(np.float64))


def test_crops_features_and_sums_match_numpy():
    rng = np.random.default_rng(0)
    block = rng.integers(0, 60000, (40, 48, 48)).astype(np.uint16)
    centres = 23.5 + rng.normal(0, 3, (40, 2))
    source = np.arange(48 * 48).reshape(48, 48)
    source[10, 12] = source[10, 13]  # a repaired hot pixel
    for span in (32.0, 41.7, 50.0):  # finer, coarser and overhanging windows
        want = extract_crops(block, centres, span, 32, source_index=source)
        got = XP.to_host(extract_crops(block, centres, span, 32, source_index=source, xp=XP))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-2)
    x = model_input(block, centres, 40.0, 32, xp=XP)
    np.testing.assert_allclose(XP.to_host(x), model_input(block, centres, 40.0, 32), atol=1e-6)
    basis = RingHarmonics(size=32, edges_px=(0.0, 4.0, 9.0, 16.0), max_order=3)
    crops = extract_crops(block, centres, 40.0, 32)
    np.testing.assert_allclose(XP.to_host(pattern_features(crops, basis, 3.0, XP)),
                               pattern_features(crops, basis, 3.0), rtol=1e-4, atol=1e-7)
    matrices = {"a": rng.random((48 * 48, 3)), "b": rng.random((48 * 48, 12))}
    frames = block.reshape(5, 8, 48, 48)
    for threshold in (None, 30000.0):
        host = LinearKernel(matrices, threshold).process(frames, (slice(0, 5), slice(0, 8)))
        dev = LinearKernel(matrices, threshold, XP).process(frames, (slice(0, 5), slice(0, 8)))
        for name in matrices:
            np.testing.assert_allclose(dev[name], host[name], rtol=1e-5)


def test_symmetry_operations_act_alike_on_tensors():
    from ferromap.models.symmetry import group_ops

    crops = np.random.default_rng(1).random((3, 8, 8)).astype(np.float32)
    for op in group_ops("d4"):
        np.testing.assert_array_equal(op.apply(torch.from_numpy(crops)).numpy(), op.apply(crops))


def test_only_a_gpu_model_computes_its_kernels_on_the_device():
    assert namespace("cpu") is None
    assert namespace("cuda:1") == TorchNamespace("cuda:1")
    assert namespace("mps") is None


@pytest.mark.parametrize("hot_value", [np.nan, 1e12])
def test_a_hot_pixel_never_enters_the_device_sums(hot_value):
    """On the device, as on the host, a hot pixel (NaN, huge) is left out of the CoM."""
    from ferromap.core.com import center_of_mass

    data = np.random.default_rng(5).integers(0, 50, (3, 4, 32, 32)).astype(np.float32)
    data[..., 7, 9] = hot_value
    hot = np.zeros((32, 32), bool)
    hot[7, 9] = True
    np.testing.assert_allclose(center_of_mass(data, hot_pixels=hot, xp=XP),
                               center_of_mass(np.where(hot, 0, data), hot_pixels=hot),
                               atol=1e-4)
