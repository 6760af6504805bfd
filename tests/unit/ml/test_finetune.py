"""Fine-tuning backbone + head: it learns what frozen features miss, its cross-validation only scores
held-out folds (the linear head's folds), BatchNorm statistics stay frozen, and cancel stops it."""

import numpy as np
import pytest
import torch
from torch import nn

from labellight.ml.augment import to_model_input
from labellight.ml.classifier import train_linear_head
from labellight.ml.embed import embed
from labellight.ml.finetune import (
    CrossValidation,
    FinetuneCancelled,
    FinetuneConfig,
    FinetuneProgress,
    cross_validate,
    finetune,
    fold_count,
)
from labellight.ml.metrics import cross_val_predictions

CPU = torch.device("cpu")
SIZE = 16
DEVICES = [
    pytest.param(CPU, id="cpu"),
    pytest.param(torch.device("cuda"), id="cuda",
                 marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")),
]


def tiny_backbone(hidden: int = 8, width: int = 16) -> nn.Module:
    """A two-layer CNN encoder (B, 3, S, S) -> (B, width) with BatchNorm, randomly initialised."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, hidden, 3, padding=1), nn.BatchNorm2d(hidden), nn.ReLU(),
                         nn.Conv2d(hidden, width, 3, padding=1, stride=2), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())


def with_statistics_of(backbone: nn.Module, pixels: np.ndarray) -> nn.Module:
    """BatchNorm running statistics set to those of ``pixels``, as pretraining on them leaves them."""
    for module in backbone.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = None  # a cumulative average: one pass gives the exact statistics
    backbone.train()
    with torch.no_grad():
        backbone(to_model_input(torch.from_numpy(pixels), SIZE))
    return backbone.eval()


def stripes(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Class 0: horizontal stripes, class 1: vertical; random period, phase, colours and noise.
    Averaged random filters see mostly colour, so frozen random features separate them poorly."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    rows, columns = np.mgrid[0:SIZE, 0:SIZE]
    images = np.empty((n, SIZE, SIZE, 3), np.uint8)
    for i in range(n):
        coordinate = rows if y[i] == 0 else columns
        wave = (np.sin(2 * np.pi * coordinate / rng.integers(3, 6) + rng.uniform(0, 2 * np.pi)) > 0)[..., None]
        image = wave * rng.uniform(0, 255, 3) + ~wave * rng.uniform(0, 255, 3) + rng.normal(0, 20, (SIZE, SIZE, 3))
        images[i] = np.clip(image, 0, 255)
    return images, y.astype(np.int64)


def config(**overrides: object) -> FinetuneConfig:
    # A random start needs a higher backbone rate than the default's 1e-4 for pretrained features.
    values: dict[str, object] = {"image_size": SIZE, "epochs": 10, "batch_size": 16, "backbone_lr": 1e-2}
    return FinetuneConfig(**{**values, **overrides})  # type: ignore[arg-type]


@pytest.mark.slow
def test_finetuning_learns_what_the_frozen_linear_head_misses() -> None:
    pixels, y = stripes(40)
    reports: list[FinetuneProgress] = []
    cv = cross_validate(tiny_backbone(), pixels, y, config(), folds=4, device=CPU, on_progress=reports.append)
    assert isinstance(cv, CrossValidation)
    assert cv.n_folds == 4
    assert cv.accuracy_finetuned >= 0.85
    assert cv.accuracy_finetuned >= cv.accuracy_linear + 0.1
    assert [(r.run, r.epoch) for r in reports] == [(run, e) for run in range(1, 5) for e in range(1, 11)]
    assert all(r.runs == 4 and r.epochs == 10 and np.isfinite(r.loss) for r in reports)
    steps = [r.step for r in reports]
    assert steps == sorted(steps)
    assert steps[-1] == reports[-1].total_steps == 4 * 10 * 2  # folds of 30 images: 2 batches


@pytest.mark.slow
def test_the_linear_side_is_the_linear_heads_own_cross_validation() -> None:
    """Same folds, same model: the comparison is on equal terms."""
    pixels, y = stripes(30, seed=1)
    backbone = tiny_backbone()
    cv = cross_validate(backbone, pixels, y, config(epochs=1), device=CPU)
    assert cv.n_folds == fold_count(y) == 5
    frozen = embed(backbone, pixels, SIZE, device=CPU)
    expected = cross_val_predictions(frozen, y, folds=cv.n_folds)
    np.testing.assert_array_equal(cv.linear, expected.labels)


@pytest.mark.slow
def test_cross_validation_scores_held_out_folds_only() -> None:
    """Shuffled labels: what a head fits on the images it was trained on does not carry to held-out ones."""
    pixels, _ = stripes(36, seed=3)
    y = np.random.default_rng(2).permutation(np.arange(36) % 3)
    backbone = with_statistics_of(tiny_backbone(hidden=16, width=32), pixels)
    frozen = embed(backbone, pixels, SIZE, device=CPU)
    in_sample = float((train_linear_head(frozen, y).head.predict_proba(frozen).argmax(1) == y).mean())
    assert in_sample >= 0.65  # scoring the training images would look good
    cv = cross_validate(backbone, pixels, y, config(), device=CPU)
    assert cv.accuracy_linear <= 0.5  # chance is 1/3
    assert cv.accuracy_finetuned <= 0.5


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.slow
def test_finetune_returns_a_changed_cpu_copy_with_frozen_batchnorm_statistics(device: torch.device) -> None:
    pixels, y = stripes(20)
    backbone = tiny_backbone()
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    tuned = finetune(backbone, pixels, y, config(epochs=2), device=device)
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, before[key]), f"the original changed: {key}"
    after = tuned.state_dict()
    assert after.keys() == before.keys()
    assert all(v.device.type == "cpu" for v in after.values())
    assert not tuned.training
    statistics = [k for k in before if k.endswith(("running_mean", "running_var"))]
    assert statistics
    assert all(torch.equal(after[k], before[k]) for k in statistics)
    trained = [k for k in before if k.endswith("weight")]
    assert any(not torch.equal(after[k], before[k]) for k in trained)
    assert tuned(torch.randn(2, 3, SIZE, SIZE)).shape == (2, 16)


def test_should_stop_cancels_before_the_next_step() -> None:
    pixels, y = stripes(20)
    checks: list[int] = []

    def should_stop() -> bool:
        checks.append(1)
        return len(checks) > 3

    reports: list[FinetuneProgress] = []
    with pytest.raises(FinetuneCancelled, match="at step 3 of"):
        finetune(tiny_backbone(), pixels, y, config(batch_size=4), device=CPU, on_progress=reports.append,
                 should_stop=should_stop)
    assert len(checks) == 4
    assert reports == []  # 5 steps per epoch: it stopped inside the first


def test_bad_input_is_refused_with_what_to_fix() -> None:
    pixels, y = stripes(8)
    with pytest.raises(ValueError, match="at least 2 classes"):
        finetune(tiny_backbone(), pixels, np.zeros(8, np.int64), config(), device=CPU)
    with pytest.raises(ValueError, match="uint8"):
        finetune(tiny_backbone(), pixels.astype(np.float32), y, config(), device=CPU)
    with pytest.raises(ValueError, match="shape"):
        finetune(tiny_backbone(), pixels, y[:5], config(), device=CPU)
    with pytest.raises(ValueError, match="at least 2 images each"):
        cross_validate(tiny_backbone(), pixels, np.array([0, 0, 0, 0, 0, 0, 0, 1]), config(), device=CPU)
    with pytest.raises(ValueError, match="crop_scale"):
        config(crop_scale=(0.0, 1.0))
    with pytest.raises(ValueError, match="epochs"):
        config(epochs=0)
