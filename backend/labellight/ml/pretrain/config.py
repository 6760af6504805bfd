"""Hyper-parameters of a BYOL pretraining run and the presets chosen by device and dataset size."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from labellight.ml.adaptation import stage_count
from labellight.ml.backbone_init import WeightsArchitecture
from labellight.ml.backbones import BACKBONE_NAMES, EFFICIENTNET_LITE0
from labellight.ml.device import cpu_has_native_bf16
from labellight.ml.imagenet_weights import INPUT_SIZE

OPTIMIZERS = ("adamw", "lars", "sgd")


@dataclass
class PretrainConfig:
    """Everything that determines a pretraining run.

    ``backbone``, ``small_images`` and ``image_size`` also define the resulting encoder: store
    them with the weights to rebuild it (``build_backbone``) and to embed (``image_size``).

    Optimiser (``optimizer``): ``"lars"`` as in BYOL (learning rate ``lr`` x batch_size / 256,
    momentum 0.9, trust coefficient 1e-3), ``"sgd"`` (momentum 0.9, the same linear scaling) or
    ``"adamw"`` (learning rate ``lr``). In every case
    biases and normalisation parameters get no weight decay (nor LARS adaptation), the
    predictor's learning rate is multiplied by ``predictor_lr_scale``, and the rate rises
    linearly over the warm-up, then decays to 0 by a cosine. The warm-up lasts ``warmup_epochs``
    epochs when set (at most a tenth of the run, however many epochs a time budget plans), else
    ``warmup_fraction`` of the steps.
    EMA rate: ``cosine_tau`` from ``tau_base`` to 1. ``cpu_bf16`` enables bf16 autocast when
    training on a CPU (CUDA always uses bf16 where supported).

    Start: random (``init_weights`` None), or the backbone weights in the local file
    ``init_weights`` (a state dict; never downloaded). Continued pretraining may keep
    BatchNorm running statistics fixed (``freeze_norm_stats``) and train only the last
    ``train_last_stages`` stages (of a ResNet's four residual stages or EfficientNet-Lite0's seven
    block stages; None: all, with the stem).

    ``time_budget_s``: when set, the number of epochs is planned from a measured step time so
    that training fits the budget (``epochs`` is then ignored).

    ``guard``: compare the trained encoder with the starting one by a label-free score and ship
    the better (:func:`labellight.ml.quality.choose_backbone`); None: only when starting from
    weights.

    ``torch_compile``: run the BYOL networks through ``torch.compile`` (meant for GPUs: faster steps
    after a compilation of a minute or so at the start; the results are the same within rounding).
    """

    backbone: str = "resnet18"
    image_size: int = 32
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-6
    predictor_lr_scale: float = 1.0
    tau_base: float = 0.99
    proj_hidden: int = 512
    proj_dim: int = 128
    pred_hidden: int = 512
    seed: int = 0
    small_images: bool = True
    warmup_fraction: float = 0.1
    warmup_epochs: float | None = None
    cpu_bf16: bool = False
    init_weights: Path | None = None
    freeze_norm_stats: bool = False
    train_last_stages: int | None = None
    time_budget_s: float | None = None
    guard: bool | None = None
    torch_compile: bool = False

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONE_NAMES:
            raise ValueError(f"unknown backbone {self.backbone!r}; choose one of {', '.join(BACKBONE_NAMES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        for name in ("image_size", "epochs", "batch_size", "proj_hidden", "proj_dim", "pred_hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.image_size < 8:
            raise ValueError(f"image_size must be >= 8, got {self.image_size}")
        if self.batch_size < 2:
            raise ValueError("batch_size must be >= 2 (BatchNorm needs two samples)")
        if not self.lr > 0 or self.weight_decay < 0 or not self.predictor_lr_scale > 0:
            raise ValueError("lr and predictor_lr_scale must be > 0 and weight_decay >= 0")
        if not 0.0 <= self.tau_base <= 1.0:
            raise ValueError(f"tau_base must be in [0, 1], got {self.tau_base}")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}")
        if self.warmup_epochs is not None and self.warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be >= 0, got {self.warmup_epochs}")
        stages = stage_count(self.backbone)
        if self.train_last_stages is not None and not 1 <= self.train_last_stages <= stages:
            raise ValueError(f"train_last_stages must be in 1..{stages} or None for {self.backbone}, "
                             f"got {self.train_last_stages}")
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise ValueError(f"time_budget_s must be > 0, got {self.time_budget_s}")

    @property
    def warmup_share(self) -> float:
        """The fraction of the steps spent warming up the learning rate."""
        if self.warmup_epochs is None:
            return self.warmup_fraction
        return min(_MAX_WARMUP_SHARE, self.warmup_epochs / self.epochs)

    @property
    def optimizer_lr(self) -> float:
        """The peak learning rate: ``lr`` x batch_size / 256 for LARS and SGD (linear scaling), else ``lr``."""
        return self.lr if self.optimizer == "adamw" else self.lr * self.batch_size / 256


# Images seen in a run (epochs x dataset size) the presets aim for, and the epoch bounds. CPU,
# measured on 2 cores of an AVX512-BF16 EPYC at 32 px, batches of 64: ResNet-18 at width 32
# trains at ~125 images/s with bf16 autocast and ~65 in fp32 (the full ResNet-18: ~38 and ~16),
# so 12,000 or 6,000 images take about 1.5 minutes. GPU: ~6,000 images/s at 32 px and ~4,000
# at 64 px on an H200 (full ResNet-18), so 2M images take ~8 minutes.
_CPU_IMAGES_SEEN_BF16 = 12_000
_CPU_IMAGES_SEEN_FP32 = 6_000
_CPU_EPOCHS = (2, 40)
# The CPU preset's predictor learns 10x faster than the encoder. Compared step for step with the
# preset's other settings (cifar10_5k, 21 epochs = ~14 CPU minutes, run on a GPU; linear probe with 50
# labels/class): 36.9% against 34.5% with 1x (untrained network 24.1%, raw pixels 29.3%); lr 3e-3 or
# 3e-4, tau_base 0.996, weight decay 0.05 or batches of 128 were no better (docs/benchmarks.md).
_CPU_PREDICTOR_LR_SCALE = 10.0
_GPU_IMAGES_SEEN = 2_000_000
_GPU_EPOCHS = (20, 400)
_CPU_IMAGE_SIZE = 32
_GPU_IMAGE_SIZE = 64
# BYOL: 10 epochs of warm-up (here at most a tenth of a run); tau_base 0.99 for runs of up to 300
# epochs (0.996 for 1000, more than the presets ever plan).
_PAPER_WARMUP_EPOCHS = 10
_MAX_WARMUP_SHARE = 0.1
_SHORT_RUN_TAU_BASE = 0.99
# Continued pretraining from ImageNet weights. Networks with an ImageNet stem (stride 2 or 4 before
# the first stage) see small images at a scale they were trained for only when enlarged (frozen
# EfficientNet-Lite0 features, 50 labels/class on CIFAR-10: 55.5% at 64 px, 68.9% at 128 px): at the
# frozen start's input size (imagenet_weights.INPUT_SIZE) on a GPU, and on a CPU too where the pixel
# cache is that large (else at the cache's side, at least 64 px), so that the guard's "start" is the
# frozen backbone the project already has. A CPU run sees ~3,000 images (at least one epoch).
_CPU_MIN_WEIGHTS_IMAGE_SIZE = 64
_CPU_CONTINUED_IMAGES_SEEN = 3_000
_CPU_CONTINUED_EPOCHS = (1, 40)
_LITE0_CONTINUED_LR = 1e-5
_RESNET_CONTINUED_STAGES = 2
_LITE0_CONTINUED_STAGES = 3


def _epochs_for(n_images: int, images_seen: int, bounds: tuple[int, int]) -> int:
    return max(bounds[0], min(bounds[1], math.ceil(images_seen / n_images)))


def preset(device: torch.device, n_images: int, *, source_size: int | None = None,
           weights: WeightsArchitecture | None = None) -> PretrainConfig:
    """A configuration that fits the device and the dataset size.

    GPU: BYOL's recipe at a smaller scale: full ResNet-18 on 64 px images, batches of 256, LARS
    (lr 0.2 x 256/256, weight decay 1.5e-6, 10 warm-up epochs up to a tenth of the run), tau_base
    0.99, ~2M images seen (20-400 epochs), 2048-wide heads.
    CPU: ResNet-18 at width 32 on 32 px images, batches of 64, AdamW (LARS needs large batches),
    the predictor at 10x the learning rate, tau_base 0.99, bf16 autocast where the CPU has native
    bf16; about 1.5 minutes on 2 cores.
    So short a run can leave the encoder worse than its random start (measured on digits), so
    the CPU preset guards even a random start.
    ``source_size`` (the side of the pixel cache) caps ``image_size``: upsampling adds compute,
    not information (except for a network with an ImageNet stem, see below).
    ``weights``: the architecture of the weights the run starts from (continued pretraining; the
    caller sets ``init_weights``): see :func:`continued_from`.
    """
    if n_images < 2:
        raise ValueError(f"pretraining needs at least 2 images, got {n_images}")
    if source_size is not None and source_size < 8:
        raise ValueError(f"source_size must be >= 8, got {source_size}")
    cap = source_size or max(_CPU_IMAGE_SIZE, _GPU_IMAGE_SIZE)
    if weights is not None:
        return continued_from(weights, _scratch_preset(device, n_images, cap), device, n_images, source_size)
    return _scratch_preset(device, n_images, cap)


def continued_from(weights: WeightsArchitecture, config: PretrainConfig, device: torch.device,
                   n_images: int, source_size: int | None = None) -> PretrainConfig:
    """``config`` adapted to continue from ImageNet-like weights of the architecture ``weights``.

    BYOL continued from good weights on a few images can lose much of their quality (issue 3:
    EfficientNet-Lite0 dropped from 55.5% to 38.3-41.7%, 11 points of it from BatchNorm statistics
    recomputed on the new images), so every such run keeps BatchNorm statistics fixed and is
    guarded (the better of start and result is shipped). The backbone and its stem are those of the
    weights; a network with an ImageNet stem gets enlarged images: the frozen start's input size
    (:data:`~labellight.ml.imagenet_weights.INPUT_SIZE`, 128 px) on a GPU, and on a CPU where the pixel
    cache (``source_size``) is that large; a smaller cache's side (at least 64 px) on a CPU.
    Only the later stages adapt: a ResNet's last two of four, EfficientNet-Lite0's last three of
    seven (with its 1x1 head), the latter at a learning rate of 1e-5 with AdamW. On a CPU the run
    sees about 3,000 images (at least one epoch); a time budget overrides that as usual.
    """
    config = replace(config, backbone=weights.backbone, small_images=weights.small_images,
                     freeze_norm_stats=True, guard=True)
    if not weights.small_images:
        size = INPUT_SIZE if device.type == "cuda" else \
            min(INPUT_SIZE, max(_CPU_MIN_WEIGHTS_IMAGE_SIZE, source_size or INPUT_SIZE))
        config = replace(config, image_size=size)
    if device.type != "cuda":
        config = replace(config, epochs=_epochs_for(n_images, _CPU_CONTINUED_IMAGES_SEEN, _CPU_CONTINUED_EPOCHS))
    if weights.backbone != EFFICIENTNET_LITE0:
        return replace(config, train_last_stages=_RESNET_CONTINUED_STAGES)
    return replace(config, optimizer="adamw", lr=_LITE0_CONTINUED_LR, train_last_stages=_LITE0_CONTINUED_STAGES)


def _scratch_preset(device: torch.device, n_images: int, cap: int) -> PretrainConfig:
    if device.type == "cuda":
        epochs = _epochs_for(n_images, _GPU_IMAGES_SEEN, _GPU_EPOCHS)
        return PretrainConfig(
            image_size=min(_GPU_IMAGE_SIZE, cap),
            batch_size=256,
            optimizer="lars",
            lr=0.2,
            weight_decay=1.5e-6,
            warmup_epochs=_PAPER_WARMUP_EPOCHS,
            tau_base=_SHORT_RUN_TAU_BASE,
            epochs=epochs,
            proj_hidden=2048,
            proj_dim=256,
            pred_hidden=2048,
        )
    cpu_bf16 = cpu_has_native_bf16()
    images_seen = _CPU_IMAGES_SEEN_BF16 if cpu_bf16 else _CPU_IMAGES_SEEN_FP32
    return PretrainConfig(
        backbone="resnet18_w32",
        image_size=min(_CPU_IMAGE_SIZE, cap),
        batch_size=64,
        optimizer="adamw",
        lr=1e-3,
        predictor_lr_scale=_CPU_PREDICTOR_LR_SCALE,
        tau_base=_SHORT_RUN_TAU_BASE,
        cpu_bf16=cpu_bf16,
        guard=True,
        epochs=_epochs_for(n_images, images_seen, _CPU_EPOCHS),
    )
