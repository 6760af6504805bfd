"""The mutable state of one BYOL pretraining run and its optimisation step.

Kept apart from the loop so that a run can be checkpointed (``state_dict``) and resumed
(``load_state_dict``) exactly: model with target network, optimiser, LR schedule, step, the
augmentation RNG and the loss history. The position in the data needs no state of its own: the
batches of an epoch follow from (seed, epoch) (:func:`~labellight.ml.pretrain.schedule.epoch_batches`),
so ``step`` says where a resumed run continues, mid-epoch included.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from labellight.ml.adaptation import fix_norm_statistics, freeze_parts, frozen_parts
from labellight.ml.augment import ByolAugment
from labellight.ml.backbone_init import WeightsReport, load_backbone_weights
from labellight.ml.backbones import build_backbone
from labellight.ml.byol.collapse import normalized_std
from labellight.ml.byol.model import BYOL
from labellight.ml.byol.momentum import tau_at
from labellight.ml.device import autocast
from labellight.ml.pretrain.config import PretrainConfig
from labellight.ml.pretrain.lars import LARS, split_decay_groups

# Momentum of LARS and SGD (BYOL, SimSiam).
_MOMENTUM = 0.9
# Points of the loss history kept for the progress chart; when full, every other point is dropped.
MAX_LOSS_POINTS = 200


class Horizon:
    """Progress from 0 to 1, linear in the step from ``start`` to ``end``, that a re-planned run can re-aim.

    :meth:`retarget` moves the end and keeps the progress reached so far: from the current step on,
    the progress rises linearly from its current value to 1 at the new end (no jump in the LR or the
    EMA rate when a time budget re-plans the run). Never re-aimed, it is (k - start) / (end - start).
    """

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end, self.origin = start, end, 0.0

    def __call__(self, step: int) -> float:
        value = self.origin + (1.0 - self.origin) * (step - self.start) / max(1, self.end - self.start)
        return min(1.0, max(0.0, value))

    def retarget(self, step: int, end: int) -> None:
        if step > self.start:
            self.origin, self.start = self(step), step
        self.end = end

    def state(self) -> list[float]:
        return [self.start, self.end, self.origin]

    def load(self, state: list[float]) -> None:
        self.start, self.end, self.origin = int(state[0]), int(state[1]), float(state[2])


def warmup_cosine(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """LR multiplier at step k: (k + 1) / W during warm-up, then (1 + cos(pi (k - W) / (K - W))) / 2."""
    return _WarmupCosine(warmup_steps, Horizon(warmup_steps, total_steps))


class _WarmupCosine:
    """:func:`warmup_cosine` whose cosine follows a :class:`Horizon` (a re-planned run still ends at 0)."""

    def __init__(self, warmup_steps: int, horizon: Horizon) -> None:
        self.warmup_steps, self.horizon = warmup_steps, horizon

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        return 0.5 * (1.0 + math.cos(math.pi * self.horizon(step)))


def build_optimizer(model: BYOL, config: PretrainConfig) -> torch.optim.Optimizer:
    """LARS, SGD or AdamW over four groups: (encoder + projector | predictor) x (weights | excluded).

    Excluded (biases, normalisation parameters): no weight decay and no LARS adaptation. The
    predictor's groups run at ``predictor_lr_scale`` times the rate.
    """
    groups: list[dict[str, Any]] = []
    base_lr = config.optimizer_lr
    for modules, lr in (
        (nn.ModuleList([model.online_encoder, model.online_projector]), base_lr),
        (model.predictor, base_lr * config.predictor_lr_scale),
    ):
        weights, excluded = split_decay_groups(modules)
        groups.append({"params": weights, "lr": lr, "weight_decay": config.weight_decay, "adapt": True})
        groups.append({"params": excluded, "lr": lr, "weight_decay": 0.0, "adapt": False})
    groups = [group for group in groups if group["params"]]
    if config.optimizer == "lars":
        return LARS(groups, lr=base_lr, momentum=_MOMENTUM)
    for group in groups:
        del group["adapt"]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=base_lr, momentum=_MOMENTUM)
    return torch.optim.AdamW(groups, lr=base_lr)


def compiled(network: nn.Module, config: PretrainConfig) -> nn.Module:
    """``network`` through ``torch.compile`` when ``config.torch_compile`` is set, else itself."""
    if not config.torch_compile:
        return network
    optimized: nn.Module = torch.compile(network)  # type: ignore[assignment]
    return optimized


class PretrainRun:
    """BYOL model, optimiser and schedules for ``total_steps`` steps on ``device``.

    ``init_state``: backbone weights to start from (an earlier model's state dict); takes
    precedence over ``config.init_weights``. ``weights_report`` says what was loaded (None for a
    random start).

    ``network`` is the module a step calls (``model`` itself here; a data-parallel wrapper of it
    in :class:`~labellight.ml.pretrain.distributed.run.DistributedPretrainRun`), and ``shard`` the part of
    the augmented batch this process trains on (all of it here).
    """

    def __init__(
        self,
        config: PretrainConfig,
        total_steps: int,
        device: torch.device,
        *,
        init_state: Mapping[str, Any] | None = None,
    ) -> None:
        if total_steps < 1:
            raise ValueError(f"total_steps must be >= 1, got {total_steps}")
        self.config = config
        self.total_steps = total_steps
        self.device = device
        self.step = 0
        # Seed model initialisation without disturbing the caller's global RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            backbone, feature_dim = build_backbone(config.backbone, config.small_images)
            source = init_state if init_state is not None else config.init_weights
            self.weights_report: WeightsReport | None = (
                load_backbone_weights(backbone, source) if source is not None else None
            )
            self._frozen = frozen_parts(config.backbone, config.train_last_stages)
            freeze_parts(backbone, self._frozen)
            self.model = BYOL(backbone, feature_dim, config.proj_hidden, config.proj_dim, config.pred_hidden)
        # channels_last lets cuDNN use its fastest convolution kernels under bf16.
        memory_format = torch.channels_last if device.type == "cuda" else torch.contiguous_format
        self.memory_format = memory_format
        self.model.to(device)
        self.model.to(memory_format=memory_format)  # type: ignore[call-overload]
        self.train_mode()
        self.optimizer = build_optimizer(self.model, config)
        warmup_steps = int(config.warmup_share * total_steps)
        # The LR's cosine and the EMA rate follow these; a time budget re-aims them (:meth:`retarget`).
        self.lr_factor = _WarmupCosine(warmup_steps, Horizon(warmup_steps, total_steps))
        self.tau_horizon = Horizon(0, total_steps)
        # A plain function: LambdaLR would save a callable object's attributes in its state dict.
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda step: self.lr_factor(step))
        # Seconds of a time budget spent so far (kept in checkpoints: a resumed run gets the rest).
        self.budget_used_s: float | None = None
        self.augment = ByolAugment(config.image_size, seed=config.seed)
        self.network: nn.Module = compiled(self.model, config)
        self.shard = slice(None)
        self.loss_history: list[list[float]] = []

    def train_mode(self) -> None:
        """Training mode, except BatchNorm layers whose statistics stay fixed (frozen parts, or
        all of both encoders with ``freeze_norm_stats``)."""
        self.model.train()
        for encoder in (self.model.online_encoder, self.model.target_encoder):
            fix_norm_statistics(encoder, self._frozen, everywhere=self.config.freeze_norm_stats)

    def train_step(self, images: torch.Tensor) -> torch.Tensor:
        """One step on uint8 images (B, H, W, 3) already on ``device``; returns the detached loss.

        theta <- optimiser step on L(theta); xi <- tau_k xi + (1 - tau_k) theta.
        """
        v1, v2 = self.augment(images)
        v1 = v1[self.shard].contiguous(memory_format=self.memory_format)
        v2 = v2[self.shard].contiguous(memory_format=self.memory_format)
        with autocast(self.device, cpu_bf16=self.config.cpu_bf16):
            loss = self.network(v1, v2)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.model.update_target(tau_at(self.tau_horizon(self.step), self.config.tau_base))
        self.step += 1
        return self.batch_loss(loss.detach())

    def retarget(self, total_steps: int) -> None:
        """Re-plan the run to end after ``total_steps`` steps (at least the steps done): the LR's cosine
        and the EMA rate continue from where they are and reach their ends at the new last step."""
        total_steps = max(total_steps, self.step)
        for horizon in (self.lr_factor.horizon, self.tau_horizon):
            horizon.retarget(self.step, total_steps)
        self.total_steps = total_steps

    def batch_loss(self, loss: torch.Tensor) -> torch.Tensor:
        """The loss of the whole batch from this process's ``loss`` (the same here)."""
        return loss

    def record_loss(self, loss: float) -> None:
        """Add (step, loss) to ``loss_history``, thinned to at most :data:`MAX_LOSS_POINTS` points."""
        if not self.loss_history or self.loss_history[-1][0] != self.step:
            self.loss_history.append([self.step, round(loss, 5)])
        if len(self.loss_history) > MAX_LOSS_POINTS:
            self.loss_history = self.loss_history[::2]

    def collapse_std(self) -> float:
        """:func:`normalized_std` of the latest step's online projections (NaN before a step).

        Syncs with the device: call it when reporting, not every step.
        """
        z = self.model.last_projection
        return float("nan") if z is None else float(normalized_std(z).item())

    def encoder(self) -> nn.Module:
        """A copy of the online encoder f_theta on the CPU, in eval mode, every parameter trainable."""
        encoder = copy.deepcopy(self.model.online_encoder)
        encoder.to("cpu")
        encoder.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]
        encoder.requires_grad_(True)
        return encoder.eval()

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the run bit-for-bit; loadable with ``weights_only=True``."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "step": self.step,
            "total_steps": self.total_steps,
            "augment_rng": self.augment.generator.get_state(),
            "loss_history": [list(point) for point in self.loss_history],
            "horizons": [self.lr_factor.horizon.state(), self.tau_horizon.state()],
            "warmup_steps": self.lr_factor.warmup_steps,
            **({"budget_used_s": self.budget_used_s} if self.budget_used_s is not None else {}),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state from :meth:`state_dict` of a run with the same config and length."""
        if int(state["total_steps"]) != self.total_steps:
            raise ValueError(f"checkpoint is for {state['total_steps']} steps, this run has {self.total_steps}")
        self.model.load_state_dict(state["model"])
        # A copy: the optimiser adopts the given tensors and would update the caller's state in place.
        self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = int(state["step"])
        self.augment.generator.set_state(state["augment_rng"])
        self.loss_history = [list(point) for point in state.get("loss_history", [])]
        if "horizons" in state:
            self.lr_factor.horizon.load(state["horizons"][0])
            self.tau_horizon.load(state["horizons"][1])
            self.lr_factor.warmup_steps = int(state["warmup_steps"])
        self.budget_used_s = state.get("budget_used_s")
