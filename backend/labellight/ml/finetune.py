"""Fine-tuning a copy of the backbone with a linear head on the labeled images, and the k-fold
cross-validation that compares it with the frozen backbone's linear head on the same folds.

Model: p(c | x) = softmax(W f(x) / ||f(x)|| + b)_c with f the backbone, W (C, D), b (C,): the
production head's form (:mod:`labellight.ml.classifier`) on top of a trainable f.

Recipe: LP-FT (Kumar et al. 2022, "Fine-Tuning can Distort Pretrained Features"): the head starts
from the logistic regression fitted on the frozen embeddings, so the first gradients reaching f come
from a sensible head, not a random one that would distort the features. Then AdamW with a learning
rate 100x lower for f than for the head, a cosine decay to 0, class-balanced cross-entropy (weight
N / (C n_c), as the linear head's ``class_weight="balanced"``) and light augmentation: a random
resized crop of 50-100% of the area and a horizontal flip. bf16 autocast on CUDA, and on a CPU with
native bf16 (:mod:`labellight.ml.device`).

BatchNorm stays in eval mode, its running statistics frozen at the pretrained ones (estimated on all
the project's images); gamma and beta still train. Batches of a few dozen labeled images, often
skewed towards a few classes, give noisy batch statistics, and updating the running averages would
pull them towards the labeled subset: the embeddings of the unlabeled images (always computed in eval
mode) would then shift for reasons that have nothing to do with the labels.

What ships after a fine-tune is the production pipeline: the fine-tuned f, embeddings, and a linear
head refitted on them. So cross-validation scores exactly that: per fold, fine-tune on the other
folds, refit the logistic regression on their fine-tuned embeddings, predict the held-out fold.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold
from torch import nn
from torch.nn import functional

from labellight.ml import batched_transforms as transforms
from labellight.ml.augment import normalize, to_float_images
from labellight.ml.classifier import LinearHead, fit_linear_head
from labellight.ml.device import autocast, cpu_has_native_bf16, pick_device
from labellight.ml.embed import embed
from labellight.ml.metrics import DEFAULT_FOLDS

DEFAULT_EPOCHS = 20
_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


@dataclass(frozen=True)
class FinetuneConfig:
    """Hyper-parameters of a fine-tune. ``image_size``: the backbone's input side S (the one its
    embeddings use); ``epochs``: passes over the labeled images; ``crop_scale``: area fraction of
    the random resized crop; ``seed``: folds, linear heads, batch order and augmentation."""

    image_size: int
    epochs: int = DEFAULT_EPOCHS
    batch_size: int = 32
    backbone_lr: float = 1e-4
    head_lr: float = 1e-2
    weight_decay: float = 1e-4
    crop_scale: tuple[float, float] = (0.5, 1.0)
    flip_p: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.image_size < 8:
            raise ValueError(f"image_size must be >= 8, got {self.image_size}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got {self.epochs} and {self.batch_size}")
        if not (self.backbone_lr > 0 and self.head_lr > 0 and self.weight_decay >= 0):
            raise ValueError("learning rates must be > 0 and weight_decay >= 0")
        if not 0.0 < self.crop_scale[0] <= self.crop_scale[1] <= 1.0:
            raise ValueError(f"crop_scale must satisfy 0 < low <= high <= 1, got {self.crop_scale}")
        if not 0.0 <= self.flip_p <= 1.0:
            raise ValueError(f"flip_p must be in [0, 1], got {self.flip_p}")

    def steps_per_run(self, n_images: int) -> int:
        return math.ceil(n_images / self.batch_size) * self.epochs


@dataclass(frozen=True)
class FinetuneProgress:
    """Reported after every epoch. ``run``: 1..``runs`` (the folds of a cross-validation, or the one
    final run); ``step`` and ``total_steps`` count over all runs of the call; ``loss``: the epoch's
    mean class-balanced cross-entropy."""

    run: int
    runs: int
    epoch: int
    epochs: int
    step: int
    total_steps: int
    loss: float


class FinetuneCancelled(Exception):
    """Raised when ``should_stop`` returns True; it is polled before every step."""


@dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold predictions (N,) (class ids) on the same ``n_folds`` stratified folds: ``linear``
    from the logistic regression on the frozen backbone's embeddings (the current classifier),
    ``finetuned`` from the one refitted on the embeddings of the backbone fine-tuned on the other folds."""

    y: np.ndarray
    linear: np.ndarray
    finetuned: np.ndarray
    n_folds: int

    @property
    def accuracy_linear(self) -> float:
        return float((self.linear == self.y).mean())

    @property
    def accuracy_finetuned(self) -> float:
        return float((self.finetuned == self.y).mean())


ProgressCallback = Callable[[FinetuneProgress], None]
StopCheck = Callable[[], bool]


@dataclass
class _Steps:
    """Counts steps over the runs of one call and hands progress to the caller."""

    runs: int
    epochs: int
    total_steps: int
    on_progress: ProgressCallback | None
    run: int = 0
    step: int = 0

    def epoch_done(self, epoch: int, steps: int, loss: float) -> None:
        self.step += steps
        if self.on_progress is not None:
            self.on_progress(FinetuneProgress(self.run, self.runs, epoch, self.epochs, self.step,
                                              self.total_steps, loss))


class _HeadedBackbone(nn.Module):
    """f, then the linear head on unit-norm features: images (B, 3, S, S) -> logits (B, C)."""

    def __init__(self, backbone: nn.Module, head: LinearHead) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(head.dim, head.classes.shape[0])
        with torch.no_grad():
            self.head.weight.copy_(torch.from_numpy(head.coef))
            self.head.bias.copy_(torch.from_numpy(head.intercept))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.head(functional.normalize(self.backbone(x).float(), dim=1))
        return logits


def fold_count(y: np.ndarray, folds: int = DEFAULT_FOLDS) -> int:
    """The linear head's k: min(``folds``, smallest class count); ValueError below 2."""
    _, counts = np.unique(y, return_counts=True)
    n_folds = min(folds, int(counts.min()))
    if counts.shape[0] < 2 or n_folds < 2:
        raise ValueError("cross-validation needs labels of at least 2 classes with at least 2 images each")
    return n_folds


def _validated(pixels: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if pixels.ndim != 4 or pixels.shape[-1] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be a uint8 array (N, H, W, 3), got {pixels.dtype} {pixels.shape}")
    y = np.asarray(y)
    if y.shape != (pixels.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integer class ids of shape ({pixels.shape[0]},), got {y.dtype} {y.shape}")
    if np.unique(y).shape[0] < 2:
        raise ValueError("fine-tuning needs labels of at least 2 classes")
    return np.ascontiguousarray(pixels), y.astype(np.int64)


def _augment(images: torch.Tensor, config: FinetuneConfig, generator: torch.Generator) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> a random resized crop, maybe flipped, normalised (B, 3, S, S)."""
    with torch.no_grad():
        x = transforms.random_resized_crop(to_float_images(images), config.image_size, config.crop_scale, generator)
        return normalize(transforms.random_horizontal_flip(x, config.flip_p, generator))


def _train(model: _HeadedBackbone, pixels: torch.Tensor, targets: torch.Tensor, config: FinetuneConfig,
           device: torch.device, steps: _Steps, should_stop: StopCheck | None) -> None:
    """The loop: ``pixels`` uint8 (N, H, W, 3) and ``targets`` (N,) head columns, both on the CPU."""
    n, n_classes = pixels.shape[0], model.head.out_features
    counts = torch.bincount(targets, minlength=n_classes).float().clamp(min=1.0)
    weight = (n / (n_classes * counts)).to(device)
    optimizer = torch.optim.AdamW(
        [{"params": model.backbone.parameters(), "lr": config.backbone_lr},
         {"params": model.head.parameters(), "lr": config.head_lr}], weight_decay=config.weight_decay)
    total = config.steps_per_run(n)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1.0 + math.cos(math.pi * s / total)))
    generator = torch.Generator().manual_seed(config.seed)
    model.train()
    for module in model.modules():
        if isinstance(module, _BATCH_NORMS):
            module.eval()
    cpu_bf16 = cpu_has_native_bf16()
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=generator)
        loss_sum, batches = torch.zeros((), device=device), 0
        for start in range(0, n, config.batch_size):
            if should_stop is not None and should_stop():
                raise FinetuneCancelled(f"fine-tuning cancelled at step {steps.step + batches} of {steps.total_steps}")
            rows = order[start:start + config.batch_size]
            x = _augment(pixels[rows].to(device), config, generator)
            with autocast(device, cpu_bf16=cpu_bf16):
                logits = model(x)
            loss = functional.cross_entropy(logits.float(), targets[rows].to(device), weight=weight)
            optimizer.zero_grad(set_to_none=True)
            torch.autograd.backward(loss)
            optimizer.step()
            schedule.step()
            loss_sum += loss.detach()
            batches += 1
        steps.epoch_done(epoch + 1, batches, float(loss_sum.item()) / batches)  # one host sync per epoch


def _fit(base: nn.Module, pixels: np.ndarray, y: np.ndarray, head: LinearHead, config: FinetuneConfig,
         device: torch.device, steps: _Steps, should_stop: StopCheck | None) -> nn.Module:
    """A copy of ``base`` fine-tuned on (``pixels``, ``y``) from ``head``: on ``device``, eval mode."""
    model = _HeadedBackbone(copy.deepcopy(base), head).to(device)
    targets = torch.from_numpy(np.searchsorted(head.classes, y))
    steps.run += 1
    _train(model, torch.from_numpy(np.ascontiguousarray(pixels)), targets, config, device, steps, should_stop)
    return model.backbone.eval()


def _predicted(head: LinearHead, x: np.ndarray) -> np.ndarray:
    labels: np.ndarray = head.classes[head.predict_proba(x).argmax(axis=1)]
    return labels


def cross_validate(
    backbone: nn.Module,
    pixels: np.ndarray,
    y: np.ndarray,
    config: FinetuneConfig,
    *,
    folds: int = DEFAULT_FOLDS,
    device: torch.device | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> CrossValidation:
    """Out-of-fold predictions of the frozen linear head and of the fine-tuned pipeline.

    ``pixels``: uint8 (N, H, W, 3) of the labeled images, ``y`` (N,) their class ids. Folds: the
    linear head's (:func:`labellight.ml.metrics.cross_val_predictions`): stratified, shuffled with
    ``config.seed``, k = :func:`fold_count`. ``backbone`` is copied, never changed. Raises
    :class:`FinetuneCancelled` when ``should_stop`` returns True.
    """
    pixels, y = _validated(pixels, y)
    n_folds = fold_count(y, folds)
    device = device or pick_device()
    base = copy.deepcopy(backbone).to(device).eval()
    frozen = embed(base, pixels, config.image_size, device=device)
    splits = list(StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=config.seed).split(frozen, y))
    steps = _Steps(n_folds, config.epochs, sum(config.steps_per_run(len(train)) for train, _ in splits), on_progress)
    linear, finetuned = np.empty_like(y), np.empty_like(y)
    for train, held_out in splits:
        head = fit_linear_head(frozen[train], y[train], config.seed)
        linear[held_out] = _predicted(head, frozen[held_out])
        tuned = _fit(base, pixels[train], y[train], head, config, device, steps, should_stop)
        features = embed(tuned, pixels, config.image_size, device=device)
        refit = fit_linear_head(features[train], y[train], config.seed)
        finetuned[held_out] = _predicted(refit, features[held_out])
    return CrossValidation(y=y, linear=linear, finetuned=finetuned, n_folds=n_folds)


def finetune(
    backbone: nn.Module,
    pixels: np.ndarray,
    y: np.ndarray,
    config: FinetuneConfig,
    *,
    device: torch.device | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> nn.Module:
    """A copy of ``backbone`` fine-tuned on all labeled images (``pixels`` uint8 (N, H, W, 3), class
    ids ``y`` (N,)); returned on the CPU in eval mode, its features (N, D) as before."""
    pixels, y = _validated(pixels, y)
    device = device or pick_device()
    base = copy.deepcopy(backbone).to(device).eval()
    head = fit_linear_head(embed(base, pixels, config.image_size, device=device), y, config.seed)
    steps = _Steps(1, config.epochs, config.steps_per_run(len(y)), on_progress)
    return _fit(base, pixels, y, head, config, device, steps, should_stop).cpu()
