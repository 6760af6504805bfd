"""The mutable state of one BYOL pretraining run and its optimisation step.

Kept apart from the loop so that a run can be checkpointed (``state_dict``) and resumed
(``load_state_dict``) exactly: model with target network, optimiser, LR schedule, step and the
augmentation RNG.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from labellight.ml.augment import ByolAugment
from labellight.ml.backbones import build_backbone
from labellight.ml.byol.model import BYOL
from labellight.ml.byol.momentum import cosine_tau
from labellight.ml.device import autocast
from labellight.ml.pretrain_config import PretrainConfig


def warmup_cosine(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """LR multiplier at step k: k / W during warm-up, then (1 + cos(pi (k - W) / (K - W))) / 2."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return factor


class PretrainRun:
    """BYOL model, optimiser and schedules for ``total_steps`` steps on ``device``."""

    def __init__(self, config: PretrainConfig, total_steps: int, device: torch.device) -> None:
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
            self.model = BYOL(backbone, feature_dim, config.proj_hidden, config.proj_dim, config.pred_hidden)
        # channels_last lets cuDNN use its fastest convolution kernels under bf16.
        memory_format = torch.channels_last if device.type == "cuda" else torch.contiguous_format
        self.memory_format = memory_format
        self.model.to(device)
        self.model.to(memory_format=memory_format)  # type: ignore[call-overload]
        self.model.train()
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
        warmup_steps = int(config.warmup_fraction * total_steps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, warmup_cosine(total_steps, warmup_steps))
        self.augment = ByolAugment(config.image_size, seed=config.seed)

    def train_step(self, images: torch.Tensor) -> torch.Tensor:
        """One step on uint8 images (B, H, W, 3) already on ``device``; returns the detached loss.

        theta <- AdamW step on L(theta); xi <- tau_k xi + (1 - tau_k) theta.
        """
        v1, v2 = self.augment(images)
        v1 = v1.contiguous(memory_format=self.memory_format)
        v2 = v2.contiguous(memory_format=self.memory_format)
        with autocast(self.device, cpu_bf16=self.config.cpu_bf16):
            loss = self.model(v1, v2)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.model.update_target(cosine_tau(self.step, self.total_steps, self.config.tau_base))
        self.step += 1
        detached: torch.Tensor = loss.detach()
        return detached

    def encoder(self) -> nn.Module:
        """A copy of the online encoder f_theta on the CPU, in eval mode."""
        encoder = copy.deepcopy(self.model.online_encoder)
        encoder.to("cpu")
        encoder.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]
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
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state from :meth:`state_dict` of a run with the same config and length."""
        if int(state["total_steps"]) != self.total_steps:
            raise ValueError(f"checkpoint is for {state['total_steps']} steps, this run has {self.total_steps}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = int(state["step"])
        self.augment.generator.set_state(state["augment_rng"])
