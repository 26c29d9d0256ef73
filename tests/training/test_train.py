"""train_model end to end on toy crops: save, reload, fine-tune from a saved model."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.classes import KNN8, ClassSet
from ferromap.errors import FerromapError
from ferromap.models import load_model
from ferromap.training.config import TrainConfig
from ferromap.training.train import LabelledCrops, train_model


def labelled(toy, classes=KNN8):
    x, y = toy
    mag = np.ones(len(y))
    return LabelledCrops(x, y, mag, y.copy(), 3.17, classes)


def config(tmp_path, name, **kw):
    settings = {"crop_size": 16, "epochs": 3, "batch_size": 32, "lr": 3e-3, "augment": False,
                "filter": False, **kw}
    return TrainConfig(train=[], name=name, out=str(tmp_path / name), **settings)


def test_train_save_reload_and_fine_tune(tmp_path, toy):
    model, record = train_model(config(tmp_path, "base"), labelled(toy))
    assert record["val_accuracy"] > 0.8
    loaded = load_model(tmp_path / "base", device="cpu", precision="fp32")
    np.testing.assert_allclose(loaded.predict(toy[0]).probs, model.predict(toy[0]).probs,
                               atol=1e-5)
    tuned, rec2 = train_model(config(tmp_path, "tuned", init_from=str(tmp_path / "base"),
                                     epochs=1, lr=1e-4), labelled(toy))
    assert rec2["val_accuracy"] > 0.8  # started from the trained weights, not from scratch
    base_w = loaded.net.state_dict()["head.fc.weight"]
    assert not np.allclose(tuned.net.state_dict()["head.fc.weight"].cpu(), base_w)


def test_fine_tuning_refuses_another_class_set(tmp_path, toy):
    train_model(config(tmp_path, "base"), labelled(toy))
    other = ClassSet(tuple(f"c{i}" for i in range(8)), (None,) * 8)
    with pytest.raises(FerromapError, match="predicts RM"):
        train_model(config(tmp_path, "x", init_from=str(tmp_path / "base")),
                    labelled(toy, other))


def test_square_symmetry_teaches_classes_never_labelled(tmp_path, toy_crops):
    """Trained on RM and RU patterns only, a d4 model sees them in all 8 orientations with
    mapped labels and classifies every direction; without the symmetry it cannot."""

    x, y = toy_crops(n_per_class=60, centre=8.0)
    seen = np.isin(y, [KNN8.index("RM"), KNN8.index("RU")])
    data = LabelledCrops(x[seen], y[seen], np.ones(seen.sum()), y[seen].copy(), 3.17, KNN8)
    model, _ = train_model(config(tmp_path, "d4", symmetry="d4", epochs=8), data)
    assert model.info.symmetry == "d4" and model.passes == 8
    assert load_model(tmp_path / "d4", device="cpu").info.symmetry == "d4"
    acc = (model.predict(x[~seen]).labels == y[~seen]).mean()
    assert acc > 0.8, acc
    plain, _ = train_model(config(tmp_path, "plain", epochs=8), data)
    assert (plain.predict(x[~seen]).labels == y[~seen]).mean() < 0.05


def test_symmetry_needs_directed_classes(tmp_path, toy):
    other = ClassSet(tuple(f"c{i}" for i in range(8)), (None,) * 8)
    with pytest.raises(FerromapError, match="closed under"):
        train_model(config(tmp_path, "x", symmetry="d4"), labelled(toy, other))


def test_held_out_bank_entries_hold_both_directions():
    """The bank alternates RM (even index) and RU (odd): a validation set of one parity would
    leave four classes without a prototype."""
    from ferromap.training.train import held_out

    picked = [i for i in range(56) if held_out(i, 14)]
    assert picked == [12, 13, 26, 27, 40, 41, 54, 55]
    assert {i % 2 for i in picked} == {0, 1}


def test_prototypes_need_every_class():
    """A class absent from the crops would get a NaN prototype and never be predicted."""
    import torch

    from ferromap.models.network import PolarizationNet
    from ferromap.training.train import _set_prototypes

    torch.manual_seed(0)
    net = PolarizationNet("conv", "prototype", KNN8, {"size": 16})
    crops = np.random.default_rng(0).random((16, 16, 16)).astype(np.float32)
    with pytest.raises(FerromapError, match=r"no example of class\(es\) \[0, 2, 4, 6\]"):
        _set_prototypes(net, crops, np.arange(16) % 4 * 2 + 1, "cpu")
    _set_prototypes(net, crops, np.arange(16) % 8, "cpu")
    assert torch.isfinite(net.head.prototypes).all()


def test_held_out_groups_are_whole():
    """In a bank of groups (one specimen and microscope in four polarizations) a group is
    held out whole: a crystal the network trains on never validates it."""
    from ferromap.simulate.bank import MILD, bank_entry
    from ferromap.training.train import held_out

    picked = [i for i in range(56) if held_out(i, 7, group=4)]
    assert picked == [24, 25, 26, 27, 52, 53, 54, 55]
    entries = [bank_entry(i, MILD) for i in picked[:4]]
    assert {e.crystal.direction for e in entries} == {"RM", "RU", "LM", "LD"}
    assert len({(e.crystal.seed, e.crystal.thickness_cells, e.microscope, e.multislice)
                for e in entries}) == 1
    assert bank_entry(28, MILD).crystal.seed != entries[0].crystal.seed


def test_a_bank_group_that_splits_a_specimen_is_refused():
    """Entries sharing a crystal must fall in one group, or the held-out group would share
    crystals with the training set."""
    from ferromap.training.synthesis import BankEntryData
    from ferromap.training.train import check_bank_group

    entries = [BankEntryData(np.zeros((1, 1, 2, 2), np.float32), i % 4, 0.25,
                             f"entry-{i:04d}", 4000 + i // 4) for i in range(8)]
    check_bank_group(entries, 4)
    with pytest.raises(FerromapError, match="groups of 4, but bank_group is 1"):
        check_bank_group(entries, 1)
    with pytest.raises(FerromapError, match="set bank_group = 4"):
        check_bank_group(entries, 3)
