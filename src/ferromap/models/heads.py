"""Heads on top of an encoder, each with its loss and its decoding to class probabilities.

* classification: Linear → n logits, cross-entropy, softmax.
* regression: Linear → 2 + tanh, MSE against the class's unit vector ``(cos θ, sin θ)``,
  decoded by angle bucketing (bucket edges shifted by half a class step, i.e. 22.5° for 8).
* prototype: Linear → 128-d embedding. Training uses batch prototypes (class means in the
  batch) and ``log q_c = log_softmax(-‖e - p_c‖₂)`` against circular soft targets
  ``w_c ∝ exp(-d(c, y)² / 2σ²)``, σ = 1.25, with a KL loss. Inference uses the SAME
  Euclidean distance to fixed prototypes (the published code switched to cosine: a bug).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def circular_soft_targets(y: torch.Tensor, n_classes: int, sigma: float = 1.25) -> torch.Tensor:
    """Soft labels over a ring of classes: ``w_c ∝ exp(-min(|c-y|, n-|c-y|)² / (2σ²))``."""
    c = torch.arange(n_classes, device=y.device)
    d = (c[None, :] - y[:, None]).abs()
    d = torch.minimum(d, n_classes - d).float()
    w = torch.exp(-(d**2) / (2 * sigma**2))
    return w / w.sum(dim=1, keepdim=True)


def prototype_log_probs(emb: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """``log_softmax(-‖e - p_c‖₂)`` over classes; NaN prototypes (absent classes) get -inf."""
    dist = torch.cdist(emb, torch.nan_to_num(prototypes, nan=0.0))
    dist = torch.where(torch.isnan(prototypes[:, 0])[None, :], torch.inf, dist)
    return F.log_softmax(-dist, dim=1)


def batch_prototypes(emb: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Mean embedding per class in the batch; NaN rows for classes absent from it."""
    one_hot = F.one_hot(y, n_classes).float()
    counts = one_hot.sum(dim=0)
    protos = one_hot.T @ emb / counts.clamp(min=1)[:, None]
    return torch.where(counts[:, None] > 0, protos, torch.full_like(protos, float("nan")))


class Head(nn.Module):
    """Base: ``forward`` maps features to the head output; ``loss`` and ``log_probs``."""

    kind = ""

    def __init__(self, features: int, n_classes: int, angles_deg: list[float | None] | None):
        super().__init__()
        self.n_classes = n_classes
        self.angles_deg = angles_deg

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def log_probs(self, out: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class ClassificationHead(Head):
    """Linear(features → n_classes), cross-entropy."""

    kind = "classification"

    def __init__(self, features: int, n_classes: int, angles_deg=None):
        super().__init__(features, n_classes, angles_deg)
        self.fc = nn.Linear(features, n_classes)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.fc(f)

    def loss(self, out, y):
        return F.cross_entropy(out, y)

    def log_probs(self, out):
        return F.log_softmax(out, dim=1)


class RegressionHead(Head):
    """Linear(features → 2) + tanh; MSE to the class unit vector; angle bucketing."""

    kind = "regression"
    kappa = 8.0  # sharpness of the von Mises soft assignment used as probabilities

    def __init__(self, features: int, n_classes: int, angles_deg=None):
        if angles_deg is None or any(a is None for a in angles_deg):
            raise ValueError("the regression head needs a direction angle for every class")
        super().__init__(features, n_classes, angles_deg)
        self.fc = nn.Linear(features, 2)
        self.register_buffer("angles", torch.deg2rad(torch.tensor(angles_deg, dtype=torch.float32)))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(f))

    def loss(self, out, y):
        target = torch.stack([torch.cos(self.angles[y]), torch.sin(self.angles[y])], dim=1)
        return F.mse_loss(out, target)

    def bucket(self, out: torch.Tensor) -> torch.Tensor:
        """Class index by angle bucketing (edges at half-steps: ±22.5° for 8 classes)."""
        theta = torch.atan2(out[:, 1], out[:, 0])
        step = 2 * math.pi / self.n_classes
        return torch.floor(((theta + step / 2) % (2 * math.pi)) / step).long() % self.n_classes

    def log_probs(self, out):
        theta = torch.atan2(out[:, 1], out[:, 0])
        return F.log_softmax(self.kappa * torch.cos(theta[:, None] - self.angles[None]), dim=1)


class PrototypeHead(Head):
    """Linear(features → 128) embedding with a circular-prototype KL loss (Euclidean)."""

    kind = "prototype"

    def __init__(self, features: int, n_classes: int, angles_deg=None, dim: int = 128,
                 sigma: float = 1.25):
        super().__init__(features, n_classes, angles_deg)
        self.fc = nn.Linear(features, dim)
        # Circular soft targets only make sense for a ring of directions (the 8 KNN classes);
        # other class sets (e.g. none/vertical/horizontal) get one-hot targets.
        ring = angles_deg is not None and all(a is not None for a in angles_deg)
        self.sigma = sigma if ring else 1e-3
        self.register_buffer("prototypes", torch.full((n_classes, dim), float("nan")))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.fc(f)

    def loss(self, out, y):
        protos = batch_prototypes(out, y, self.n_classes)
        target = circular_soft_targets(y, self.n_classes, self.sigma)
        logq = prototype_log_probs(out, protos)
        present = ~torch.isnan(protos[:, 0])
        target = target * present[None, :]
        target = target / target.sum(dim=1, keepdim=True)
        return F.kl_div(logq.clamp(min=-1e4), target, reduction="batchmean")

    def log_probs(self, out):
        if torch.isnan(self.prototypes).all():
            raise RuntimeError("prototypes are not set: call set_prototypes after training")
        return prototype_log_probs(out, self.prototypes)

    @torch.no_grad()
    def set_prototypes(self, emb: torch.Tensor, y: torch.Tensor) -> None:
        """Fix the inference prototypes (class means of, e.g., the validation embeddings)."""
        self.prototypes.copy_(batch_prototypes(emb, y, self.n_classes))


HEADS = {h.kind: h for h in (ClassificationHead, RegressionHead, PrototypeHead)}
