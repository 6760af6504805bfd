import pytest
import torch
from torch import nn

from labellight.ml.backbones import build_backbone


@pytest.mark.parametrize(("name", "dim"), [("resnet18", 512), ("resnet34", 512), ("resnet50", 2048)])
def test_backbone_outputs_features_of_declared_dimension(name: str, dim: int) -> None:
    model, feature_dim = build_backbone(name)
    assert feature_dim == dim
    with torch.no_grad():
        out = model.eval()(torch.randn(2, 3, 16, 16))
    assert out.shape == (2, dim)


def test_small_image_stem_keeps_resolution() -> None:
    small, _ = build_backbone("resnet18", small_images=True)
    large, _ = build_backbone("resnet18", small_images=False)
    assert isinstance(small.maxpool, nn.Identity)
    assert small.conv1.stride == (1, 1)
    assert small.conv1.kernel_size == (3, 3)
    assert large.conv1.stride == (2, 2)
    assert isinstance(large.maxpool, nn.MaxPool2d)
    assert isinstance(small.fc, nn.Identity)
    assert isinstance(large.fc, nn.Identity)


def test_unknown_backbone_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown backbone"):
        build_backbone("vgg11")
