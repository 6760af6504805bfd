"""The guard decides on the user's labels once they exist: the linear head's cross-validated accuracy with the
starting and the trained backbone, the same folds for both; a backbone that loses (or ties) never ships."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from labellight.ml.checkpoint import save_state_dict
from labellight.ml.label_guard import LabelAccuracyGuard, LabeledImages
from labellight.ml.pretrain import PretrainConfig, PretrainResult, pretrain_with_report
from labellight.services.pretrain_guard import CurrentBackbone, keeps_current, same_weights

CPU = torch.device("cpu")


def _centre_classes(n: int = 24, side: int = 16) -> LabeledImages:
    """Noise images whose class (0 or 1) is a dark or a bright centre; the corners are noise in both."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (n, side, side, 3), dtype=np.uint8)
    labels = np.arange(n) % 2
    q = side // 4
    pixels[labels == 0, q:-q, q:-q] = 20
    pixels[labels == 1, q:-q, q:-q] = 235
    return LabeledImages(pixels, labels)


class Crop(nn.Module):
    """Features: the mean colour of a window (the centre sees the class, a corner only noise)."""

    def __init__(self, window: slice) -> None:
        super().__init__()
        self.window = window
        self.mix = nn.Linear(3, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features: torch.Tensor = self.mix(x[:, :, self.window, self.window].mean(dim=(2, 3)))
        return features


def _centre() -> Crop:
    torch.manual_seed(0)
    return Crop(slice(6, 10))


def _corner() -> Crop:
    torch.manual_seed(0)
    return Crop(slice(0, 2))


def test_the_backbone_with_higher_accuracy_on_the_labels_ships_and_a_loser_never_does() -> None:
    guard = LabelAccuracyGuard(_centre_classes(), before_size=16, after_size=16)
    good, bad = guard.score_before(_centre()), guard.score_after(_corner())
    assert good > 0.9 > 0.75 > bad
    lost = guard.choose(good, bad)
    assert lost.kept == "before"
    assert lost.method == "labels"
    assert "no better" in lost.reason
    assert f"{100 * good:.1f}%" in lost.reason
    assert f"{100 * bad:.1f}%" in lost.reason
    won = guard.choose(bad, good)
    assert won.kept == "after"
    assert "ships" in won.reason
    assert guard.choose(good, good).kept == "before"  # a tie keeps the start


def test_both_backbones_are_judged_on_the_same_folds() -> None:
    guard = LabelAccuracyGuard(_centre_classes(), before_size=16, after_size=16)
    assert guard.n_folds == 5
    assert guard.score_before(_corner()) == guard.score_after(_corner())
    again = LabelAccuracyGuard(_centre_classes(), before_size=16, after_size=16)
    for (train_a, test_a), (train_b, test_b) in zip(guard.folds, again.folds, strict=True):
        assert np.array_equal(train_a, train_b)
        assert np.array_equal(test_a, test_b)


def test_too_few_labels_leave_the_guard_label_free() -> None:
    labeled = _centre_classes()
    assert labeled.usable() is not None
    one_each = LabeledImages(labeled.pixels[:3], np.array([0, 1, 2]))
    assert one_each.usable() is None
    partly = LabeledImages(labeled.pixels[:5], np.array([0, 1, 0, 1, 2]))
    usable = partly.usable()
    assert usable is not None
    assert sorted(usable.labels.tolist()) == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="2 classes with 2 labels"):
        LabelAccuracyGuard(one_each, before_size=16, after_size=16)


def _config(**overrides: object) -> PretrainConfig:
    base: dict[str, object] = dict(backbone="resnet18_w16", image_size=16, epochs=1, batch_size=8, proj_hidden=32,
                                   proj_dim=16, pred_hidden=32, guard=True)
    base.update(overrides)
    return PretrainConfig(**base)  # type: ignore[arg-type]


def test_a_guarded_run_decides_on_the_labels_when_there_are_enough() -> None:
    labeled = _centre_classes(16)
    result = pretrain_with_report(labeled.pixels, _config(), device=CPU, labeled=labeled)
    assert result.choice is not None
    assert result.choice.method == "labels"
    assert "cross-validated accuracy of the linear head on the project's 16 labels" in result.reason
    unlabeled = pretrain_with_report(labeled.pixels, _config(), device=CPU,
                                     labeled=LabeledImages(labeled.pixels[:2], np.array([0, 1])))
    assert unlabeled.choice is not None
    assert unlabeled.choice.method == "view-consistency"


def test_a_kept_start_that_is_the_current_backbone_ships_nothing_new(tmp_path: Path) -> None:
    """The guard keeping the start used to ship it again as a new, identical backbone version."""
    start, trained = _centre(), _corner()
    with torch.no_grad():
        trained.mix.weight.add_(1.0)
    save_state_dict(start, tmp_path / "v1.pt")
    current = CurrentBackbone(1, 16, tmp_path / "v1.pt", None)
    assert same_weights(start, current.weights)
    assert not same_weights(trained, current.weights)

    def result(kept: str, backbone: nn.Module) -> PretrainResult:
        return PretrainResult(backbone, kept, "figures", "state dict", 1, 2)

    assert keeps_current(result("initial", start), current)
    assert not keeps_current(result("pretrained", trained), current)
    assert not keeps_current(result("initial", start), None)
