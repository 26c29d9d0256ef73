"""Heads: circular targets, the prototype metric, regression bucketing."""

from __future__ import annotations

import math

import pytest
import torch

from ferromap.classes import KNN8
from ferromap.models.heads import (
    PrototypeHead,
    RegressionHead,
    batch_prototypes,
    circular_soft_targets,
    prototype_log_probs,
)


def test_circular_soft_targets():
    w = circular_soft_targets(torch.tensor([0, 3]), 8, sigma=1.25)
    assert torch.allclose(w.sum(1), torch.ones(2))
    assert w[0].argmax() == 0 and w[1].argmax() == 3
    assert torch.isclose(w[0, 1], w[0, 7]) and torch.isclose(w[0, 2], w[0, 6])  # wraps round
    expected = math.exp(-1 / (2 * 1.25**2)) / math.exp(0)
    assert float(w[0, 1] / w[0, 0]) == pytest.approx(expected, rel=1e-5)


def test_inference_uses_the_training_metric_euclidean_not_cosine():
    protos = torch.tensor([[1.0, 0.0], [9.0, 3.0]])
    e = torch.tensor([[9.0, 0.0]])
    # cosine similarity would pick class 0 (same direction); Euclidean picks class 1
    assert prototype_log_probs(e, protos).argmax() == 1
    head = PrototypeHead(4, 2, [0.0, 180.0], dim=2)
    head.set_prototypes(protos, torch.tensor([0, 1]))
    assert head.log_probs(e).argmax() == 1


def test_batch_prototypes_mark_absent_classes():
    emb = torch.tensor([[0.0, 0.0], [2.0, 2.0], [4.0, 0.0]])
    p = batch_prototypes(emb, torch.tensor([0, 0, 2]), 3)
    assert torch.allclose(p[0], torch.tensor([1.0, 1.0])) and torch.isnan(p[1]).all()
    assert torch.isinf(prototype_log_probs(emb, p)[:, 1]).all()


def test_prototype_loss_arranges_classes_on_a_ring():
    """Minimising the loss over free embeddings puts neighbouring directions close together."""
    torch.manual_seed(0)
    head = PrototypeHead(2, 8, list(KNN8.angles_deg), dim=8)
    y = torch.arange(8).repeat(4)
    emb = torch.randn(32, 8, requires_grad=True)
    opt = torch.optim.Adam([emb], lr=0.05)
    start = float(head.loss(emb, y))
    for _ in range(400):
        opt.zero_grad()
        loss = head.loss(emb, y)
        loss.backward()
        opt.step()
    assert float(loss) < 0.5 * start
    p = batch_prototypes(emb.detach(), y, 8)
    d = torch.cdist(p, p)
    adjacent = torch.stack([d[c, (c + 1) % 8] for c in range(8)])
    opposite = torch.stack([d[c, (c + 4) % 8] for c in range(8)])
    assert adjacent.max() < opposite.min()


def test_regression_bucketing_edges():
    head = RegressionHead(4, 8, list(KNN8.angles_deg))
    deg = torch.tensor([0.0, 22.0, 23.0, 90.0, 200.0, 337.0, 338.0, -10.0])
    out = torch.stack([torch.cos(torch.deg2rad(deg)), torch.sin(torch.deg2rad(deg))], 1)
    assert head.bucket(out).tolist() == [0, 0, 1, 2, 4, 7, 0, 0]
    assert head.log_probs(out).argmax(1).tolist() == [0, 0, 1, 2, 4, 7, 0, 0]
    with pytest.raises(ValueError, match="direction angle"):
        RegressionHead(4, 3, [None, 90.0, 0.0])
