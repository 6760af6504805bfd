import pytest
import torch

from labellight.ml.adaptation import fix_norm_statistics, freeze_parts, frozen_parts
from labellight.ml.backbones import build_backbone


def test_frozen_parts_for_last_stages() -> None:
    assert frozen_parts(None) == ()
    assert frozen_parts(4) == ("conv1", "bn1")
    assert frozen_parts(2) == ("conv1", "bn1", "layer1", "layer2")
    with pytest.raises(ValueError, match="train_last_stages"):
        frozen_parts(5)


def test_frozen_parts_get_no_gradient_and_keep_their_statistics() -> None:
    torch.manual_seed(0)
    encoder, _ = build_backbone("resnet18_w16")
    parts = frozen_parts(1)
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
