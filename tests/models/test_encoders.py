from __future__ import annotations

import pytest
import torch

from ferromap.classes import ClassSet
from ferromap.models.encoders import ConvEncoder, build_encoder
from ferromap.models.network import PolarizationNet


def test_conv_encoder_is_the_published_one():
    enc = ConvEncoder(64)
    x = torch.zeros(2, 1, 64, 64)
    assert enc.conv(x).shape == (2, 12544)  # 64 × 14 × 14
    assert enc(x).shape == (2, 512)
    kinds = [type(m).__name__ for m in enc.conv]
    assert kinds == ["Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU",
                     "MaxPool2d", "Flatten"]
    assert enc.project[0].in_features == 12544 and enc.project[0].out_features == 512
    small = ConvEncoder(64, projection_rank=32)
    assert sum(p.numel() for p in small.parameters()) < 0.15 * sum(p.numel() for p in enc.parameters())


@pytest.mark.parametrize("name", ["resnet", "vgg"])
def test_plain_torch_resnet_and_vgg(name):
    enc = build_encoder(name)
    assert enc(torch.zeros(3, 1, 64, 64)).shape == (3, 256)


def test_any_class_set_and_bad_names():
    boracite = ClassSet(("none", "vertical", "horizontal"), (None, 90.0, 0.0))
    net = PolarizationNet("conv", "classification", boracite, {"size": 32})
    assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 3)
    with pytest.raises(ValueError, match="unknown encoder"):
        build_encoder("transformer")
    with pytest.raises(ValueError, match="unknown head"):
        PolarizationNet("conv", "ranking", boracite)
