"""LARS: layer-wise adaptive rate scaling (You et al. 2017), as used by BYOL (Grill et al. 2020, app. C).

torch ships no LARS, so this is a small one that follows BYOL's reference implementation. For a
parameter w with gradient g, weight decay lambda, trust coefficient eta and momentum m:

    u = g + lambda w
    r = eta ||w|| / ||u||     (1 where ||w|| = 0 or ||u|| = 0)
    v <- m v + lr r u
    w <- w - v

Groups with ``adapt=False`` (BYOL: biases and normalisation parameters, which also get no weight
decay) use r = 1, i.e. plain SGD with momentum. No step synchronises the device with the host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

__all__ = ["LARS", "split_decay_groups"]


class LARS(torch.optim.Optimizer):
    """LARS with per-group ``lr``, ``weight_decay``, ``momentum``, ``eta`` and ``adapt``."""

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float,
        *,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        eta: float = 1e-3,
        adapt: bool = True,
    ) -> None:
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if weight_decay < 0 or not eta > 0:
            raise ValueError(f"weight_decay must be >= 0 and eta > 0, got {weight_decay} and {eta}")
        defaults = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "eta": eta, "adapt": adapt}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                self._update_group(group, params)
        return loss

    def _update_group(self, group: dict[str, Any], params: list[torch.Tensor]) -> None:
        grads = [g for p in params if (g := p.grad) is not None]
        if group["weight_decay"]:
            updates = list(torch._foreach_add(grads, params, alpha=group["weight_decay"]))
        else:
            updates = [g.clone() for g in grads]
        if group["adapt"]:
            # All the group's trust ratios in a few batched operations, not a handful per tensor.
            weight_norms = torch.stack(torch._foreach_norm(params))
            update_norms = torch.stack(torch._foreach_norm(updates))
            usable = (weight_norms > 0) & (update_norms > 0)
            ratios = group["eta"] * weight_norms / update_norms.clamp_min(1e-30)
            trust = torch.where(usable, ratios, torch.ones_like(weight_norms))
            torch._foreach_mul_(updates, list(trust.unbind()))
        buffers = []
        for p in params:
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = torch.zeros_like(p)
            buffers.append(state["momentum_buffer"])
        torch._foreach_mul_(buffers, group["momentum"])
        torch._foreach_add_(buffers, updates, alpha=group["lr"])
        torch._foreach_sub_(params, buffers)


def _is_excluded(name: str, param: torch.Tensor) -> bool:
    # Biases and BatchNorm/LayerNorm scales and shifts are the 1-d parameters.
    return param.ndim <= 1 or name.endswith(".bias")


def split_decay_groups(module: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(weights, excluded) of ``module``'s trainable parameters.

    ``excluded`` holds biases and normalisation parameters: BYOL applies neither weight decay
    nor LARS adaptation to them.
    """
    weights: list[nn.Parameter] = []
    excluded: list[nn.Parameter] = []
    for name, param in module.named_parameters():
        if param.requires_grad:
            (excluded if _is_excluded(name, param) else weights).append(param)
    return weights, excluded
