"""Encoder networks f(x) -> y, classifier removed: torchvision ResNets (and a narrower ResNet-18),
and EfficientNet-Lite0 built with timm (the layout of the TensorFlow release's ImageNet weights)."""

from __future__ import annotations

from collections.abc import Callable

import torch
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

EFFICIENTNET_LITE0 = "efficientnet_lite0"
_EFFICIENTNET_LITE0_DIM = 1280
RESNET_NAMES: tuple[str, ...] = (*_RESNETS, *_NARROW_RESNET18)
BACKBONE_NAMES: tuple[str, ...] = (*RESNET_NAMES, EFFICIENTNET_LITE0)
# ImageNet mean / std: what every backbone receives (labellight.ml.augment.normalize).
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


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


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite0..4 (Tan & Le 2019; the TensorFlow "lite" variant: ReLU6, no squeeze-excitation,
    fixed stem and head; ``variant`` 0-4 scales depth and width) as laid out by timm's
    ``tf_efficientnet_lite<variant>``: TensorFlow "same" padding
    and BatchNorm eps 1e-3, so the TensorFlow release's ImageNet weights compute what they were
    trained to compute. timm builds the layers; nothing is ever downloaded.

    Input: images normalised with the ImageNet mean / std, like every backbone of the project; the
    network maps them back to the range its weights expect, 2 x - 1 for x in [0, 1] (timm's mean =
    std = 0.5; the TensorFlow release's (255 x - 127) / 128 is within 1% of it), inside ``forward``
    (constants, not state: the state dict holds only the layers). Output: (B, 1280) after the
    head convolution and global average pooling. The stem is the native one (3x3, stride 2) at every
    input size: an input of S px ends in an (S/32)-px map, so small images are best enlarged (64 px
    and more) rather than given another stem that the weights were not trained with.

    Module names are timm's (``conv_stem``, ``bn1``, ``blocks.<stage>.<block>``, ``conv_head``,
    ``bn2``): state dicts of timm's model load as they are.
    """

    input_scale: torch.Tensor  # (1, 3, 1, 1)
    input_shift: torch.Tensor  # (1, 3, 1, 1)
    conv_stem: nn.Module
    bn1: nn.Module
    blocks: nn.Module
    conv_head: nn.Module
    bn2: nn.Module

    def __init__(self, variant: int = 0) -> None:
        super().__init__()
        import timm  # here, not at the top: seconds to import, and only this backbone needs it

        if variant not in range(5):
            raise ValueError(f"EfficientNet-Lite variants are 0-4, got {variant}")
        net = timm.create_model(f"tf_efficientnet_lite{variant}", pretrained=False, num_classes=0)
        self.conv_stem, self.bn1 = net.get_submodule("conv_stem"), net.get_submodule("bn1")
        self.blocks = net.get_submodule("blocks")
        self.conv_head, self.bn2 = net.get_submodule("conv_head"), net.get_submodule("bn2")
        # x_imagenet = (x - mean) / std  ->  2 x - 1 = x_imagenet * (2 std) + (2 mean - 1)
        std, mean = torch.tensor(_IMAGENET_STD), torch.tensor(_IMAGENET_MEAN)
        self.register_buffer("input_scale", (2 * std).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("input_shift", (2 * mean - 1).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.input_scale + self.input_shift
        x = self.bn2(self.conv_head(self.blocks(self.bn1(self.conv_stem(x)))))
        return x.mean(dim=(2, 3))


def feature_dim_of(name: str) -> int:
    """Dimension D of the features (B, D) the backbone ``name`` outputs."""
    if name in _RESNETS:
        return _RESNETS[name][1]
    if name in _NARROW_RESNET18:
        return 8 * _NARROW_RESNET18[name]
    if name == EFFICIENTNET_LITE0:
        return _EFFICIENTNET_LITE0_DIM
    raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONE_NAMES)}")


def build_backbone(name: str = "resnet18", small_images: bool = True) -> tuple[nn.Module, int]:
    """Build a randomly initialised encoder (never downloads weights).

    Returns ``(module, feature_dim)``: the module maps float images (B, 3, H, W) to features
    (B, feature_dim) (the global-average-pooled output; ``fc`` is ``Identity``).

    ``small_images`` adapts the stem for inputs of roughly 32-64 px (as in SimCLR/BYOL CIFAR
    setups): a 3x3 stride-1 first convolution and no max-pool, so the feature maps are not
    shrunk 4x before the first residual stage. ResNets only: EfficientNet-Lite0 keeps its native
    stem whatever ``small_images`` says (see :class:`EfficientNetLite`).
    """
    feature_dim = feature_dim_of(name)
    if name == EFFICIENTNET_LITE0:
        return EfficientNetLite(), feature_dim
    model: ResNet
    model = NarrowResNet(_NARROW_RESNET18[name]) if name in _NARROW_RESNET18 else _RESNETS[name][0](weights=None)
    if small_images:
        stem_width = model.conv1.out_channels
        model.conv1 = nn.Conv2d(3, stem_width, kernel_size=3, stride=1, padding=1, bias=False)
        nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
        model.maxpool = nn.Identity()  # type: ignore[assignment]
    model.fc = nn.Identity()  # type: ignore[assignment]
    return model, feature_dim
