import pytest
import torch

from labellight.ml.adaptation import fix_norm_statistics, freeze_parts, frozen_parts
from labellight.ml.backbones import build_backbone


def test_frozen_parts_for_last_stages() -> None:
    assert frozen_parts("resnet18", None) == ()
    assert frozen_parts("resnet18", 4) == ("conv1", "bn1")
    assert frozen_parts("resnet18_w32", 2) == ("conv1", "bn1", "layer1", "layer2")
    assert frozen_parts("efficientnet_lite0", 7) == ("conv_stem", "bn1")
    assert frozen_parts("efficientnet_lite0", 3) == ("conv_stem", "bn1", "blocks.0", "blocks.1", "blocks.2", "blocks.3")
    with pytest.raises(ValueError, match="train_last_stages"):
        frozen_parts("resnet18", 5)
    with pytest.raises(ValueError, match="train_last_stages"):
        frozen_parts("efficientnet_lite0", 8)


@pytest.mark.slow
def test_efficientnet_stages_freeze_and_keep_their_statistics() -> None:
    torch.manual_seed(0)
    encoder, _ = build_backbone("efficientnet_lite0")
    parts = frozen_parts("efficientnet_lite0", 3)
    freeze_parts(encoder, parts)
    encoder.train()
    fix_norm_statistics(encoder, parts, everywhere=False)
    early, late = encoder.blocks[3][0], encoder.blocks[5][0]
    early_stats, late_stats = early.bn1.running_mean.clone(), late.bn1.running_mean.clone()
    encoder(torch.randn(2, 3, 32, 32)).sum().backward()
    assert encoder.conv_stem.weight.grad is None
    assert early.conv_pw.weight.grad is None
    assert late.conv_pw.weight.grad is not None
    assert encoder.conv_head.weight.grad is not None
    assert torch.equal(early.bn1.running_mean, early_stats)
    assert not torch.equal(late.bn1.running_mean, late_stats)


def test_frozen_parts_get_no_gradient_and_keep_their_statistics() -> None:
    torch.manual_seed(0)
    encoder, _ = build_backbone("resnet18_w16")
    parts = frozen_parts("resnet18_w16", 1)
    freeze_parts(encoder, parts)
    encoder.train()
    fix_norm_statistics(encoder, parts, everywhere=False)
    stats_before = encoder.layer1[0].bn1.running_mean.clone()
    late_before = encoder.layer4[0].bn1.running_mean.clone()
    encoder(torch.randn(4, 3, 16, 16)).sum().backward()
    assert encoder.layer1[0].conv1.weight.grad is None
    assert encoder.layer4[0].conv1.weight.grad is not None
    assert torch.equal(encoder.layer1[0].bn1.running_mean, stats_before)
    assert not torch.equal(encoder.layer4[0].bn1.running_mean, late_before)


def test_fixing_statistics_everywhere_and_missing_parts() -> None:
    encoder, _ = build_backbone("resnet18_w16")
    encoder.train()
    fix_norm_statistics(encoder, (), everywhere=True)
    before = encoder.layer4[1].bn2.running_var.clone()
    encoder(torch.randn(4, 3, 16, 16))
    assert torch.equal(encoder.layer4[1].bn2.running_var, before)
    with pytest.raises(ValueError, match="no module"):
        freeze_parts(torch.nn.Linear(2, 2), ("layer1",))
