from pathlib import Path

import pytest
import torch

from labellight.ml.backbone_init import load_backbone_weights
from labellight.ml.backbones import build_backbone


def _trained_like(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    module, _ = build_backbone("resnet18_w16")
    return module


def test_loads_a_weights_file_exactly(tmp_path: Path) -> None:
    source = _trained_like(1)
    torch.save(source.state_dict(), tmp_path / "w.pt")
    target = _trained_like(2)
    report = load_backbone_weights(target, tmp_path / "w.pt")
    assert report.missing == report.unexpected == report.mismatched == ()
    assert len(report.loaded) == len(source.state_dict())
    for a, b in zip(source.state_dict().values(), target.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_prefixes_nesting_and_other_shapes_are_reported() -> None:
    source = _trained_like(1).state_dict()
    state = {"model": {f"online_encoder.{k}": v for k, v in source.items()}}
    state["model"]["online_encoder.conv1.weight"] = torch.zeros(16, 3, 7, 7)  # a large-image stem
    state["model"]["online_encoder.fc.weight"] = torch.zeros(10, 128)
    target = _trained_like(2)
    report = load_backbone_weights(target, state)
    assert report.mismatched == ("conv1.weight",)
    assert report.unexpected == ("fc.weight",)
    assert report.missing == ()
    assert torch.equal(target.layer4[1].conv2.weight, source["layer4.1.conv2.weight"])
    assert not torch.equal(target.conv1.weight, torch.zeros(16, 3, 3, 3))
    assert "1 of another shape" in report.summary()


def test_a_file_that_matches_nothing_is_refused(tmp_path: Path) -> None:
    torch.save({"decoder.weight": torch.zeros(3, 3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="matches none"):
        load_backbone_weights(_trained_like(0), tmp_path / "other.pt")
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    with pytest.raises(ValueError, match="does not hold a state dict"):
        load_backbone_weights(_trained_like(0), tmp_path / "tensor.pt")


def test_a6_pickled_objects_are_not_loaded(tmp_path: Path) -> None:
    torch.save({"conv1.weight": torch.zeros(1), "obj": Path("x")}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match=r"[Ww]eights only load failed"):
        load_backbone_weights(_trained_like(0), tmp_path / "evil.pt")
