"""Target-network update: exponential moving average with a cosine-scheduled rate (BYOL sec. 3.1)."""

from __future__ import annotations

import math

import torch
from torch import nn


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    """In place, xi <- tau * xi + (1 - tau) * theta for every parameter; buffers are copied.

    ``target`` (parameters xi) and ``online`` (parameters theta) must have the same architecture.
    tau = 1 leaves the target unchanged; tau = 0 makes it a copy of the online network.
    Buffers (BatchNorm running statistics, counters) are copied rather than averaged.
    """
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"tau must be in [0, 1], got {tau}")
    target_params: list[torch.Tensor] = list(target.parameters())
    online_params: list[torch.Tensor] = list(online.parameters())
    target_buffers = list(target.buffers())
    online_buffers = list(online.buffers())
    if len(target_params) != len(online_params) or len(target_buffers) != len(online_buffers):
        raise ValueError("target and online networks have different architectures")
    if target_params:
        torch._foreach_mul_(target_params, tau)
        torch._foreach_add_(target_params, online_params, alpha=1.0 - tau)
    if target_buffers:
        torch._foreach_copy_(target_buffers, online_buffers)


def cosine_tau(step: int, total_steps: int, tau_base: float) -> float:
    """EMA rate at step k of K: tau = 1 - (1 - tau_base) * (cos(pi * k / K) + 1) / 2.

    Starts at ``tau_base`` (k = 0) and rises to 1 at k = K; steps past K stay at 1.
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    if not 0.0 <= tau_base <= 1.0:
        raise ValueError(f"tau_base must be in [0, 1], got {tau_base}")
    return tau_at(min(step, total_steps) / total_steps, tau_base)


def tau_at(progress: float, tau_base: float) -> float:
    """The EMA rate of :func:`cosine_tau` at ``progress`` k / K in [0, 1] of the run."""
    return 1.0 - (1.0 - tau_base) * (math.cos(math.pi * progress) + 1.0) / 2.0
