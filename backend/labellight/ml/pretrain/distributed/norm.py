"""BatchNorm over the batch of all processes of a data-parallel run (SyncBatchNorm), on GPUs and CPUs.

``nn.SyncBatchNorm`` refuses CPU tensors. :class:`CpuSyncBatchNorm` computes the same statistics
on the CPU with differentiable all-reduces (the gradient of a sum over processes is summed back
to every process), so that a CPU run with the gloo backend normalises, and learns, like one
process on the whole batch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional
from torch.nn.modules.batchnorm import _BatchNorm


class CpuSyncBatchNorm(_BatchNorm):
    """``nn.SyncBatchNorm`` for CPU tensors (input (B, C, ...)), across ``process_group`` (None: all
    processes). Not a subclass of it: DistributedDataParallel refuses those on a CPU.

    Training: mean and (biased) variance over the batch of every process, two all-reduces per
    layer (the mean first, then the centred squares: no cancellation); running statistics
    updated as BatchNorm does (the unbiased variance, ``momentum``, or the cumulative average
    when ``momentum`` is None). Evaluation: the running statistics, nothing to synchronise.
    Computed in fp32, returned in the input's dtype.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group: Any = None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.process_group = process_group

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.ndim < 2:
            raise ValueError(f"expected at least 2D input (B, C, ...), got {input.ndim}D")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(input)
        running_mean, running_var = self.running_mean, self.running_var
        if not self.training or running_mean is None or running_var is None:
            return functional.batch_norm(
                input, running_mean, running_var, self.weight, self.bias, self.training, 0.0, self.eps
            )
        group = self.process_group or torch.distributed.group.WORLD
        channels = input.shape[1]
        dims = [0, *range(2, input.ndim)]
        shape = [1, channels] + [1] * (input.ndim - 2)
        x = input.float()
        local_count = torch.full((1,), x.numel() / channels, dtype=torch.float32)
        sums = _summed(torch.cat([x.sum(dims), local_count]), group)
        count = sums[channels]
        mean = sums[:channels] / count
        centred = x - mean.view(shape)
        var = _summed((centred * centred).sum(dims), group) / count
        with torch.no_grad():
            factor = self._running_factor()
            running_mean.lerp_(mean.detach(), factor)
            running_var.lerp_(var.detach() * (count / (count - 1.0).clamp(min=1.0)), factor)
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.weight is not None and self.bias is not None:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(input.dtype)

    def _running_factor(self) -> float:
        """The weight of this batch in the running statistics (BatchNorm's ``momentum`` rule)."""
        if self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
        if self.momentum is not None:
            return self.momentum
        return 1.0 / float(self.num_batches_tracked) if self.num_batches_tracked is not None else 0.0


class _SumOverProcesses(torch.autograd.Function):
    """y = sum over processes of x; the gradient of x is the sum over processes of y's gradients
    (every process's loss depends on every process's x through y)."""

    @staticmethod
    def forward(ctx: Any, local: torch.Tensor, group: Any) -> torch.Tensor:
        ctx.group = group
        total = local.clone()
        torch.distributed.all_reduce(total, group=group)
        return total

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        total = grad.clone()
        torch.distributed.all_reduce(total, group=ctx.group)
        return total, None


def _summed(local: torch.Tensor, group: Any) -> torch.Tensor:
    total: torch.Tensor = _SumOverProcesses.apply(local, group)
    return total


def convert_sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` with every BatchNorm layer synchronised across processes: ``nn.SyncBatchNorm``
    on an accelerator, :class:`CpuSyncBatchNorm` on the CPU. The layers keep their parameter and
    buffer tensors (an optimiser built on them stays valid) and their train/eval mode."""
    if device.type != "cpu":
        converted: nn.Module = nn.SyncBatchNorm.convert_sync_batchnorm(module)  # type: ignore[no-untyped-call]
        return converted
    return _convert_to_cpu_sync(module)


def _convert_to_cpu_sync(module: nn.Module) -> nn.Module:
    if isinstance(module, _BatchNorm) and not isinstance(module, nn.SyncBatchNorm | CpuSyncBatchNorm):
        synced = CpuSyncBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats
        )
        if module.affine:
            synced.weight = module.weight
            synced.bias = module.bias
        synced.running_mean = module.running_mean
        synced.running_var = module.running_var
        synced.num_batches_tracked = module.num_batches_tracked
        synced.train(module.training)
        return synced
    for name, child in module.named_children():
        module.add_module(name, _convert_to_cpu_sync(child))
    return module
