"""Distillation: a one-pass student of a model's eight-orientation average."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.classes import KNN8
from ferromap.models.store import LoadedModel
from ferromap.training.distill import distill
from ferromap.training.train import LabelledCrops
from tests.training.test_train import config


def noisy(toy_crops, seed, n_per_class=30):
    x, y = toy_crops(n_per_class=n_per_class, centre=8.0, seed=seed)
    noise = np.random.default_rng(seed + 100).normal(0, 0.25, x.shape).astype(np.float32)
    return np.clip(x + noise, 0, 1), y


@pytest.fixture(scope="module")
def teacher(tmp_path_factory, toy_crops):
    """A d4 model, briefly trained on noisy crops: its one pass often disagrees with its
    average over the eight orientations."""
    from ferromap.training.train import train_model

    x, y = noisy(toy_crops, 0)
    data = LabelledCrops(x, y, np.ones(len(y)), y.copy(), 3.17, KNN8)
    model, _ = train_model(config(tmp_path_factory.mktemp("t"), "d4", symmetry="d4", epochs=2),
                           data)
    return (model, *noisy(toy_crops, 5))


def one_pass(model: LoadedModel, net) -> LoadedModel:
    return LoadedModel(model.info, net, model.device, symmetrize=False)


def kl(target: np.ndarray, probs: np.ndarray) -> float:
    """Mean KL(target ‖ probs) per crop."""
    t, q = np.clip(target, 1e-12, None), np.clip(probs, 1e-12, None)
    return float((t * np.log(t / q)).sum(axis=1).mean())


def test_the_student_makes_in_one_pass_what_the_teacher_needs_eight_for(teacher, toy_crops):
    model, x, _ = teacher
    average = model.predict(x, calibrate=False)
    own = one_pass(model, model.net).predict(x, calibrate=False)
    fresh = noisy(toy_crops, 1, n_per_class=40)[0]  # unlabelled: the targets are the teacher's
    student = distill(model, lambda epoch: (fresh, None), epochs=10, lr=1e-3, batch_size=32)
    learnt = one_pass(model, student).predict(x, calibrate=False)
    assert kl(average.probs, learnt.probs) < 0.5 * kl(average.probs, own.probs)  # unseen crops
    assert (learnt.labels == average.labels).mean() > (own.labels == average.labels).mean()


def test_a_student_can_be_trained_on_epoch_by_epoch(teacher):
    model, x, _ = teacher
    first = distill(model, lambda epoch: (x[:64], None), epochs=1)
    again = distill(model, lambda epoch: (x[:64], None), epochs=1, student=first)
    assert again is first  # continued, not restarted from the teacher


def test_only_an_averaging_torch_teacher_can_be_distilled(teacher):
    model, x, _ = teacher
    with pytest.raises(ValueError, match="averages over orientations"):
        distill(one_pass(model, model.net), lambda epoch: (x, None), epochs=1)


def test_a_class_the_student_cannot_predict_is_left_out_of_the_loss():
    """A class without a prototype has log q = -inf: the loss is the KL over the other
    classes (the teacher's probabilities renormalised there), finite, with a gradient."""
    import torch

    from ferromap.training.distill import _kl_to_teacher

    logits = torch.tensor([[2.0, 0.5, -1.0, 0.0]], requires_grad=True)
    log_q = torch.cat([torch.log_softmax(logits[:, :3], dim=1),
                       torch.full((1, 1), -torch.inf)], dim=1)
    target = torch.tensor([[0.4, 0.3, 0.1, 0.2]])
    loss = _kl_to_teacher(log_q, target)
    t = target[0, :3] / target[0, :3].sum()
    expected = (t * (t.log() - log_q[0, :3])).sum()
    assert torch.isfinite(loss)
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-6)
    loss.backward()
    assert logits.grad[0, :3].abs().sum() > 0.1
