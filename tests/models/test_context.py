"""The scan-context model: exact symmetry of its features and positions, its scan grid, and
its model file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ferromap.classes import KNN8
from ferromap.core.features import RingHarmonics, pattern_features
from ferromap.errors import FerromapError
from ferromap.models.context import (
    ContextNet,
    feature_ops,
    feature_transform,
    from_model_grid,
    inverse_op,
    predict_map,
    scan_op,
    to_model_grid,
)
from ferromap.models.store import LoadedModel, ModelFileError, ModelInfo, load_model, save_model
from ferromap.models.symmetry import group_ops

BASIS = RingHarmonics(size=16, edges_px=(0.0, 2.0, 4.0, 8.0), max_order=3)
OPS = group_ops("d4")


def test_scan_operations_are_undone_by_their_inverse():
    image = np.arange(3 * 5 * 2).reshape(3, 5, 2)
    for op in OPS:
        back = scan_op(scan_op(image, op), inverse_op(op, OPS))
        np.testing.assert_array_equal(back, image, err_msg=op.name)


def test_features_transform_exactly_under_the_square_symmetry():
    crops = np.random.default_rng(0).random((5, 16, 16)).astype(np.float32)
    f = pattern_features(crops, BASIS)
    for op in OPS:
        t = feature_transform(BASIS, op)
        assert set(np.unique(np.abs(t))) <= {0.0, 1.0}, op.name  # a signed permutation
        np.testing.assert_allclose(pattern_features(op.apply(crops), BASIS), f @ t, atol=1e-6,
                                   err_msg=op.name)


def test_the_model_grid_round_trip():
    rr, cc = np.mgrid[0:7, 0:9].astype(np.float32)
    fmap = np.stack([2 * rr + cc, rr - cc], axis=-1)
    same = to_model_grid(fmap, 0.5, 0.5)
    np.testing.assert_allclose(same, fmap)
    fine = to_model_grid(fmap, 0.6, 0.2)  # a linear map stays linear under bilinear sampling
    assert fine.shape == (19, 25, 2)
    np.testing.assert_allclose(fine[3, 6], [2 * 1.0 + 2.0, 1.0 - 2.0], atol=1e-5)
    back = from_model_grid(fine.transpose(2, 0, 1), (7, 9), 0.6, 0.2)
    np.testing.assert_allclose(back.transpose(1, 2, 0), fmap, atol=1e-4)


def _net(seed=0):
    torch.manual_seed(seed)
    net = ContextNet(BASIS.n_features, 8, width=8, dilations=(1, 2)).eval()
    rng = np.random.default_rng(seed)
    net.fit_standardisation(rng.normal(size=(200, BASIS.n_features)), BASIS)
    return net


def test_the_symmetry_average_is_equivariant():
    """With the whole group averaged, turning the scan turns the map and its classes."""
    net = _net()
    fmap = np.random.default_rng(1).normal(size=(6, 6, BASIS.n_features)).astype(np.float32)
    ops = feature_ops(BASIS, "d4", KNN8)
    base = predict_map(net, fmap, 0.33, 0.33, ops).probs.reshape(6, 6, 8)
    assert np.allclose(base.sum(-1), 1.0, atol=1e-5)
    for op, t, perm, _ in ops:
        turned = predict_map(net, np.ascontiguousarray(scan_op(fmap @ t, op)), 0.33, 0.33, ops)
        expected = scan_op(base, op)[..., np.argsort(perm)]  # class perm[i] is the image of i
        np.testing.assert_allclose(turned.probs.reshape(6, 6, 8), expected, atol=1e-5,
                                   err_msg=op.name)
    one = predict_map(net, fmap, 0.33, 0.33, ops[:1])
    assert one.agreement is None and not np.allclose(one.probs.reshape(6, 6, 8), base)


def test_a_large_map_is_read_in_tiles_as_in_one_piece():
    """Bounded memory: tiles with a margin for the field of view give the one-piece map (on
    a step that puts every tile's origin on the same model grid)."""
    net = _net()
    rng = np.random.default_rng(2)
    fmap = rng.normal(size=(23, 31, BASIS.n_features)).astype(np.float32)
    ops = feature_ops(BASIS, "d4", KNN8)
    whole = predict_map(net, fmap, 0.66, 0.33, ops)
    tiled = predict_map(net, fmap, 0.66, 0.33, ops, tile=8)
    np.testing.assert_allclose(tiled.probs, whole.probs, atol=1e-5)
    np.testing.assert_allclose(tiled.agreement, whole.agreement, atol=1e-6)
    with pytest.raises(ValueError, match="step_A > 0"):
        predict_map(net, fmap, 0.0, 0.33, ops)


def _info(net):
    return ModelInfo("ctx", "context", KNN8, BASIS.size, 3.17, normalisation="ring-harmonics",
                     architecture={**net.config, "features": BASIS.to_dict(), "sampling_A": 0.33,
                                   "scan_step_range_A": [0.15, 1.3]}, symmetry="d4")


def test_model_file_round_trip_and_refusals(tmp_path):
    net = _net(3)
    path = save_model(tmp_path / "ctx", net, _info(net))
    model = load_model(path, device="cpu")
    assert model.reads_scans and model.passes == 8
    fmap = np.random.default_rng(2).normal(size=(5, 7, BASIS.n_features)).astype(np.float32)
    pred = model.predict_map(fmap, 0.5)
    ref = predict_map(net, fmap, 0.5, 0.33, feature_ops(BASIS, "d4", KNN8))
    np.testing.assert_allclose(pred.probs, ref.probs, atol=1e-6)
    assert pred.agreement.shape == (35,) and np.isnan(pred.distance).all()
    with pytest.raises(FerromapError, match="reads whole scans"):
        model.predict(np.zeros((2, 16, 16), np.float32))
    with pytest.raises(FerromapError, match="expects"):
        model.predict_map(fmap[..., :5], 0.5)
    good = json.loads((path / "model.json").read_text())
    for key, value in [("sampling_A", None), ("scan_step_range_A", [1.3, 0.15]),
                       ("features", {**BASIS.to_dict(), "max_order": 1})]:
        meta = json.loads(json.dumps(good))
        if value is None:
            del meta["architecture"][key]
        else:
            meta["architecture"][key] = value
        (path / "model.json").write_text(json.dumps(meta))
        with pytest.raises(ModelFileError, match="cannot load"):
            load_model(path, device="cpu")  # refused when it loads, not when it predicts


def test_a_per_pattern_model_reads_no_feature_maps():
    from ferromap.models.network import PolarizationNet

    net = PolarizationNet("conv", "classification", KNN8, {"size": 16}, "none", 16)
    model = LoadedModel(ModelInfo("p", "torch", KNN8, 16, 3.17), net)
    with pytest.raises(FerromapError, match="single crops"):
        model.predict_map(np.zeros((3, 3, BASIS.n_features), np.float32), 0.5)


def test_scan_operations_act_as_the_crop_operations():
    """A scan map turns as a crop does (up to the crop's one-pixel roll about S/2), so the
    feature transforms and the scan transforms describe the same operation."""
    from ferromap.models.context import scan_op
    from ferromap.models.symmetry import group_ops

    image = np.random.default_rng(3).random((6, 6))
    for op in group_ops("d4"):
        moved = op.apply(image)
        assert any(np.array_equal(np.roll(scan_op(image, op), (dr, dc), axis=(0, 1)), moved)
                   for dr in (0, 1) for dc in (0, 1)), op.name
