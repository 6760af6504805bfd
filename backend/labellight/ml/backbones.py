"""Encoder networks f(x) -> y: torchvision ResNets (and a narrower ResNet-18), classifier removed."""

from __future__ import annotations

from collections.abc import Callable

import torchvision
from torch import nn
from torchvision.models.resnet import BasicBlock, ResNet

_RESNETS: dict[str, tuple[Callable[..., ResNet], int]] = {
    "resnet18": (torchvision.models.resnet18, 512),
    "resnet34": (torchvision.models.resnet34, 512),
    "resnet50": (torchvision.models.resnet50, 2048),
}
# ResNet-18 at a reduced stage-1 width w (stages w, 2w, 4w, 8w; torchvision's is 64): the CPU
# preset's encoder. Compute falls with w^2, so w = 32 trains ~3-4x faster than the full network.
_NARROW_RESNET18 = {"resnet18_w32": 32, "resnet18_w16": 16}

BACKBONE_NAMES: tuple[str, ...] = (*_RESNETS, *_NARROW_RESNET18)


class NarrowResNet(ResNet):  # type: ignore[misc]
    """torchvision's ResNet with BasicBlocks whose stages have widths (w, 2w, 4w, 8w).

    Same module names as torchvision's ResNet (``conv1``, ``bn1``, ``layer1``-``layer4``, ``fc``),
    so state dicts, stage freezing and the small-image stem treat both alike. Output of
    ``forward``: (B, 8w) after global average pooling (``fc`` is ``Identity``).
    """

    def __init__(self, width: int, layers: tuple[int, int, int, int] = (2, 2, 2, 2)) -> None:
        if width < 4:
            raise ValueError(f"width must be >= 4, got {width}")
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = width, 1, 1, 64
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(BasicBlock, width, layers[0])
        self.layer2 = self._make_layer(BasicBlock, 2 * width, layers[1], stride=2)
        self.layer3 = self._make_layer(BasicBlock, 4 * width, layers[2], stride=2)
        self.layer4 = self._make_layer(BasicBlock, 8 * width, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Identity()  # type: ignore[assignment]
        # torchvision's initialisation: He-normal convolutions, BatchNorm as identity.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


def feature_dim_of(name: str) -> int:
    """Dimension D of the features (B, D) the backbone ``name`` outputs."""
    if name in _RESNETS:
        return _RESNETS[name][1]
    if name in _NARROW_RESNET18:
        return 8 * _NARROW_RESNET18[name]
    raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONE_NAMES)}")


def build_backbone(name: str = "resnet18", small_images: bool = True) -> tuple[nn.Module, int]:
    """Build a randomly initialised ResNet encoder (never downloads weights).

    Returns ``(module, feature_dim)``: the module maps float images (B, 3, H, W) to features
    (B, feature_dim) (the global-average-pooled output; ``fc`` is ``Identity``).

    ``small_images`` adapts the stem for inputs of roughly 32-64 px (as in SimCLR/BYOL CIFAR
    setups): a 3x3 stride-1 first convolution and no max-pool, so the feature maps are not
    shrunk 4x before the first residual stage.
    """
    feature_dim = feature_dim_of(name)
    model: ResNet
    model = NarrowResNet(_NARROW_RESNET18[name]) if name in _NARROW_RESNET18 else _RESNETS[name][0](weights=None)
    if small_images:
        stem_width = model.conv1.out_channels
        model.conv1 = nn.Conv2d(3, stem_width, kernel_size=3, stride=1, padding=1, bias=False)
        nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
        model.maxpool = nn.Identity()  # type: ignore[assignment]
    model.fc = nn.Identity()  # type: ignore[assignment]
    return model, feature_dim
