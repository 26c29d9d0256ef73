"""Encoders: the KNN paper's custom Conv net, and ResNet-/VGG-style nets built from plain torch.

All take ``(batch, 1, size, size)`` min-max-normalised crops and return ``(batch, features)``.
"""

from __future__ import annotations

import torch
from torch import nn


class ConvEncoder(nn.Module):
    """The published custom encoder (docs/methods.md §1).

    Conv(1→16, 3) → ReLU → Conv(16→32, 3) → ReLU → MaxPool2 → Conv(32→64, 3) → ReLU →
    MaxPool2 → Linear(64·14·14 = 12,544 → 512) → ReLU for a 64×64 crop. (The paper's text says
    AvgPool; its code, which we follow, uses MaxPool.)

    Parameters
    ----------
    size : int
        Crop side in pixels.
    features : int
        Output width (512 as published).
    projection_rank : int, optional
        If given, the 12,544→512 projection is factorised through this rank (two Linear
        layers, no non-linearity between them) to make the weight file small. ``None`` is
        the exact published layer.
    """

    def __init__(self, size: int = 64, features: int = 512, projection_rank: int | None = None):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 16, 3), nn.ReLU(),
            nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
        )
        side = ((size - 4) // 2 - 2) // 2
        flat = 64 * side * side
        if projection_rank is None:
            self.project = nn.Sequential(nn.Linear(flat, features), nn.ReLU())
        else:
            self.project = nn.Sequential(nn.Linear(flat, projection_rank, bias=False),
                                         nn.Linear(projection_rank, features), nn.ReLU())
        self.out_features = features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode a batch of crops."""
        return self.project(self.conv(x))


class _Residual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout),
        )
        self.skip = (nn.Identity() if stride == 1 and cin == cout else
                     nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class ResNetEncoder(nn.Module):
    """A small ResNet (basic blocks, 1-channel stem, 256-d projection), trained from scratch.

    Parameters
    ----------
    widths : tuple of int
        Channels of the four stages.
    features : int
        Output width (256, as the paper's projection of ResNet50 features).
    """

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 128), features: int = 256):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(1, widths[0], 3, 1, 1, bias=False),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU()]
        cin = widths[0]
        for i, w in enumerate(widths):
            layers += [_Residual(cin, w, 1 if i == 0 else 2), _Residual(w, w, 1)]
            cin = w
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.project = nn.Sequential(nn.Linear(cin, features), nn.ReLU())
        self.out_features = features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode a batch of crops."""
        return self.project(self.body(x))


class VGGEncoder(nn.Module):
    """A small VGG (stacks of 3×3 convs and max-pools, 1-channel input, 256-d projection).

    Parameters
    ----------
    widths : tuple of int
        Channels per stage; each stage is two 3×3 convs and a 2×2 max-pool.
    features : int
        Output width.
    """

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 128), features: int = 256):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 1
        for w in widths:
            layers += [nn.Conv2d(cin, w, 3, padding=1), nn.ReLU(),
                       nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            cin = w
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.project = nn.Sequential(nn.Linear(cin * 4, features), nn.ReLU())
        self.out_features = features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode a batch of crops."""
        return self.project(self.body(x))


ENCODERS = {"conv": ConvEncoder, "resnet": ResNetEncoder, "vgg": VGGEncoder}


def build_encoder(name: str, **kwargs) -> nn.Module:
    """Instantiate an encoder by name (``"conv"``, ``"resnet"``, ``"vgg"``)."""
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose from {', '.join(ENCODERS)}")
    return ENCODERS[name](**kwargs)
