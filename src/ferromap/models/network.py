"""Encoder + head, and the uniform prediction interface shared with PCA+kNN."""

from __future__ import annotations

import torch
from torch import nn

from ferromap.classes import ClassSet
from ferromap.models.encoders import build_encoder
from ferromap.models.heads import HEADS


class InputNorm(nn.Module):
    """Per-pixel standardisation of min-max crops with training statistics (optionally of √x).

    Polarization changes a diffraction pattern only slightly; subtracting the training
    mean pattern and dividing by the per-pixel spread exposes that change to the first
    convolution. The statistics are buffers, saved with the weights.

    Parameters
    ----------
    size : int
        Crop side.
    transform : {"none", "sqrt"}
        Applied to the [0, 1] crop before standardising.
    """

    def __init__(self, size: int, transform: str = "none"):
        super().__init__()
        if transform not in ("none", "sqrt"):
            raise ValueError(f"unknown input transform {transform!r}")
        self.transform = transform
        self.register_buffer("mean", torch.zeros(1, 1, size, size))
        self.register_buffer("std", torch.ones(1, 1, size, size))

    def _apply_transform(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(x.clamp(min=0)) if self.transform == "sqrt" else x

    @torch.no_grad()
    def fit(self, crops: torch.Tensor) -> None:
        """Set the statistics from training crops ``(n, 1, S, S)`` (augmented ones when the
        model trains with augmentation). The spread is floored at 10 % of its mean so that
        pixels that never vary (far outside the disk) do not amplify noise."""
        x = self._apply_transform(crops)
        std = x.std(dim=0, keepdim=True)
        self.mean.copy_(x.mean(dim=0, keepdim=True))
        self.std.copy_(std.clamp(min=max(1e-3, 0.1 * float(std.mean()))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self._apply_transform(x) - self.mean) / self.std


class PolarizationNet(nn.Module):
    """An encoder followed by a classification, regression or prototype head.

    Parameters
    ----------
    encoder : {"conv", "resnet", "vgg"}
        Encoder name.
    head : {"classification", "regression", "prototype"}
        Head kind.
    classes : ClassSet
        The class set (the 8 KNN directions or a user list).
    encoder_kwargs : dict, optional
        Passed to the encoder (e.g. ``size``, ``projection_rank``).
    input_norm : {"none", "standardize", "sqrt-standardize"}
        Input layer: nothing (the paper), per-pixel standardisation with training statistics,
        or the same on √x (see :class:`InputNorm`).
    size : int
        Crop side (for the input statistics).
    """

    def __init__(self, encoder: str, head: str, classes: ClassSet,
                 encoder_kwargs: dict | None = None, input_norm: str = "none", size: int = 64):
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"unknown head {head!r}; choose from {', '.join(HEADS)}")
        self.config = {"encoder": encoder, "head": head, "encoder_kwargs": encoder_kwargs or {},
                       "input_norm": input_norm, "size": size}
        self.classes = classes
        if input_norm == "none":
            self.input_norm = nn.Identity()
        elif input_norm in ("standardize", "sqrt-standardize"):
            self.input_norm = InputNorm(size, "sqrt" if input_norm.startswith("sqrt") else "none")
        else:
            raise ValueError(f"unknown input_norm {input_norm!r}")
        self.encoder = build_encoder(encoder, **(encoder_kwargs or {}))
        self.head = HEADS[head](self.encoder.out_features, len(classes),
                                list(classes.angles_deg))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Head output for crops ``(batch, 1, S, S)``."""
        return self.head(self.encoder(self.input_norm(x)))

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Training loss of the head."""
        return self.head.loss(self(x), y)

    @torch.inference_mode()
    def predict_tensor(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Probabilities and nearest-prototype distances for a batch (eval mode)."""
        out = self(x)
        probs = self.head.log_probs(out).exp()
        if self.head.kind == "prototype":
            dist = torch.cdist(out, self.head.prototypes.nan_to_num(nan=torch.inf)).min(dim=1).values
        else:
            dist = torch.full((len(x),), float("nan"), device=x.device)
        return probs, dist
