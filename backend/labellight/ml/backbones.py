"""Encoder networks f(x) -> y: torchvision ResNets trained from scratch, classifier removed."""

from __future__ import annotations

from collections.abc import Callable

import torchvision
from torch import nn

_RESNETS: dict[str, tuple[Callable[..., torchvision.models.ResNet], int]] = {
    "resnet18": (torchvision.models.resnet18, 512),
    "resnet34": (torchvision.models.resnet34, 512),
    "resnet50": (torchvision.models.resnet50, 2048),
}

BACKBONE_NAMES: tuple[str, ...] = tuple(_RESNETS)


def build_backbone(name: str = "resnet18", small_images: bool = True) -> tuple[nn.Module, int]:
    """Build a randomly initialised ResNet encoder.

    Returns ``(module, feature_dim)``: the module maps float images (B, 3, H, W) to features
    (B, feature_dim) (the global-average-pooled output; ``fc`` is ``Identity``).

    ``small_images`` adapts the stem for inputs of roughly 32-64 px (as in SimCLR/BYOL CIFAR
    setups): a 3x3 stride-1 first convolution and no max-pool, so the feature maps are not
    shrunk 4x before the first residual stage.
    """
    if name not in _RESNETS:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONE_NAMES)}")
    factory, feature_dim = _RESNETS[name]
    model = factory(weights=None)
    if small_images:
        model.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
        model.maxpool = nn.Identity()
    model.fc = nn.Identity()
    return model, feature_dim
