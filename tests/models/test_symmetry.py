"""Point-group symmetry: geometry of the operations, label mapping, averaged predictions."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.classes import KNN8, ClassSet
from ferromap.errors import FerromapError
from ferromap.models import ModelFileError, ModelInfo, PolarizationNet, load_model, save_model
from ferromap.models.symmetry import (
    GROUPS,
    SymOp,
    augment_batch,
    class_permutation,
    group_ops,
    usable_ops,
)

D4 = usable_ops("d4", KNN8)


def _xy_to_pixel(x: int, y: int, size: int) -> tuple[int, int]:
    """Pixel (row, col) of the in-plane offset (x right, y up) from the beam centre size/2."""
    return size // 2 - y, size // 2 + x


@pytest.mark.parametrize("op", group_ops("d4"), ids=lambda o: o.name)
def test_operation_moves_pixels_like_its_matrix_about_the_beam_centre(op: SymOp):
    size = 16
    for x, y in [(0, 0), (3, 1), (-2, 5), (4, -4)]:
        img = np.zeros((size, size))
        img[_xy_to_pixel(x, y, size)] = 1
        out = op.apply(img)
        want = np.asarray(op.matrix) @ (x, y)
        assert out[_xy_to_pixel(*want, size)] == 1, (op.name, x, y)


def test_operations_are_pixel_permutations_closed_under_composition():
    rng = np.random.default_rng(0)
    img = rng.random((10, 10))
    images = {op.name: op.apply(img) for op in group_ops("d4")}
    for a in group_ops("d4"):
        for b in group_ops("d4"):
            both = a.apply(b.apply(img))
            assert any(np.array_equal(both, v) for v in images.values()), (a.name, b.name)
    assert np.array_equal(np.sort(images["rot90"].ravel()), np.sort(img.ravel()))


def test_centre_of_mass_transforms_as_a_vector():
    """A disk off the beam centre by (dx, dy) lands at M·(dx, dy): the crop rule's centre
    S/2 is fixed, so the CoM-centred crop stays centred."""
    size = 32
    rr, cc = np.mgrid[:size, :size]
    disk = ((rr - (size / 2 - 1.5)) ** 2 + (cc - (size / 2 + 2.0)) ** 2 < 16).astype(float)
    for op in group_ops("d4"):
        out = op.apply(disk)
        com = np.array([(out * cc).sum(), (out * rr).sum()]) / out.sum()
        xy = np.array([com[0] - size / 2, size / 2 - com[1]])
        np.testing.assert_allclose(xy, np.asarray(op.matrix) @ (2.0, 1.5), atol=1e-9)


def test_class_permutation_follows_the_directions():
    perm = dict((op.name, p) for op, p in D4)
    names = KNN8.names
    assert names[perm["rot90"][KNN8.index("RM")]] == "MU"
    assert names[perm["mirror_x"][KNN8.index("RU")]] == "LU"
    assert names[perm["mirror_y"][KNN8.index("RU")]] == "RD"
    assert names[perm["mirror_diag"][KNN8.index("RM")]] == "MU"
    assert all(sorted(p) == list(range(8)) for _, p in D4)


def test_undirected_or_open_class_sets_refuse_the_group():
    undirected = ClassSet.parse("none, vertical, horizontal")
    assert [op.name for op, _ in usable_ops("none", undirected)] == ["id"]
    with pytest.raises(FerromapError, match="closed under"):
        usable_ops("d4", undirected)
    half = ClassSet(("R", "U"), (0.0, 90.0))
    assert class_permutation(SymOp("rot180", ((-1, 0), (0, -1))), half) is None
    for bad in ("d6", ["d4"]):  # a typo, or a list from a TOML/YAML config
        with pytest.raises(FerromapError, match="unknown symmetry"):
            group_ops(bad)


def test_augment_batch_moves_the_signal_with_the_label():
    """Crops with a bright spot in their class direction keep spot and label consistent."""
    size, rng = 16, np.random.default_rng(1)
    labels = rng.integers(8, size=200)
    crops = np.zeros((200, size, size), np.float32)
    for i, lab in enumerate(labels):
        v = np.rint(4 * np.array([np.cos(np.deg2rad(KNN8.angles_deg[lab])),
                                  np.sin(np.deg2rad(KNN8.angles_deg[lab]))])).astype(int)
        crops[(i, *_xy_to_pixel(*v, size))] = 1
    out, new = augment_batch(crops, labels, D4, rng)
    assert (new != labels).mean() > 0.7
    for img, lab in zip(out, new):
        r, c = np.argwhere(img)[0]
        angle = np.rad2deg(np.arctan2(size // 2 - r, c - size // 2)) % 360
        assert abs(angle - KNN8.angles_deg[lab]) < 1


def _toy_model(tmp_path, symmetry):
    import torch

    torch.manual_seed(0)
    net = PolarizationNet("conv", "prototype", KNN8, {"size": 16})
    with torch.no_grad():
        net.head.set_prototypes(net(torch.rand(40, 1, 16, 16)), torch.arange(8).repeat(5))
    info = ModelInfo("toy", "torch", KNN8, 16, 3.17, architecture=net.config, symmetry=symmetry)
    return save_model(tmp_path / symmetry, net, info)


def test_symmetrized_prediction_is_exactly_equivariant(tmp_path):
    model = load_model(_toy_model(tmp_path, "d4"), device="cpu", precision="fp32")
    assert model.info.symmetry == "d4" and model.passes == 8
    x = np.random.default_rng(2).random((12, 16, 16)).astype(np.float32)
    base = model.predict(x).probs
    for op, perm in D4:
        moved = model.predict(np.ascontiguousarray(op.apply(x))).probs
        np.testing.assert_allclose(moved[:, perm], base, atol=1e-6)
    single = load_model(tmp_path / "d4", device="cpu", precision="fp32", symmetrize=False)
    assert single.passes == 1
    rot = D4[1]
    gap = np.abs(single.predict(rot[0].apply(x).copy()).probs[:, rot[1]]
                 - single.predict(x).probs).max()
    assert gap > 1e-4  # an untrained single pass is not equivariant; the average is


def test_model_file_records_the_symmetry(tmp_path):
    import json

    path = _toy_model(tmp_path, "mm2")
    assert json.loads((path / "model.json").read_text())["symmetry"] == "mm2"
    assert load_model(path, device="cpu").passes == 4
    meta = json.loads((path / "model.json").read_text())
    for bad in ("p6mm", ["d4"]):
        meta["symmetry"] = bad
        (path / "model.json").write_text(json.dumps(meta))
        with pytest.raises(ModelFileError, match="unknown symmetry"):
            load_model(path, device="cpu")
    assert set(GROUPS) == {"none", "c2", "mm2", "d4"}


def test_shipped_conv_proto_is_equivariant_about_the_crop_rule_centre():
    """On simulated patterns, the shipped model reads a rotated or mirrored pattern as the
    rotated or mirrored class when the operation is about pixel S/2 (where the crop rule puts
    the beam) and far less often when it is about the array's middle (S-1)/2."""
    from ferromap.data import load_sample
    from ferromap.training.preprocess import dataset_crops

    ds, truth = load_sample("two-domain")
    crops, truth = dataset_crops(ds).crops, truth.ravel()
    model = load_model("conv-proto", device="cpu", precision="fp32", symmetrize=False)
    op, perm = dict((o.name, (o, p)) for o, p in D4)["rot180"]
    back = np.argsort(perm)  # class of the original from the class of the rotated pattern
    right = back[model.predict(np.ascontiguousarray(op.apply(crops))).labels]
    wrong = back[model.predict(np.ascontiguousarray(crops[:, ::-1, ::-1])).labels]
    assert (right == truth).mean() > (wrong == truth).mean() + 0.15
