"""One process's share of a data-parallel (DDP) BYOL run, and the flags its processes exchange.

Every process holds the whole BYOL model. A step: every process reads the same global batch and
draws the same augmentations from the same generator (so one RNG state, saved by rank 0, resumes
every process, on any number of them), keeps its shard of the views (global batch / world size
images), and trains the online network, wrapped in ``DistributedDataParallel`` (gradients
averaged across processes) with BatchNorm synchronised (statistics over the global batch). The
optimiser steps are then identical everywhere, so the EMA update of the target network is too.
With equal shards this is the single-process step on the global batch, up to the order of float
sums.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from labellight.ml.pretrain.config import PretrainConfig
from labellight.ml.pretrain.distributed.norm import convert_sync_batchnorm
from labellight.ml.pretrain.run import PretrainRun, compiled

# Relative difference of the fingerprints beyond which the processes' networks count as diverged.
_DIVERGED_RTOL = 1e-6


class DistributedPretrainRun(PretrainRun):
    """A :class:`PretrainRun` on ``rank`` of ``world_size`` processes (process group initialised).

    ``train_step`` takes the global batch (B, H, W, 3), B a multiple of ``world_size``, and
    returns the loss of the whole batch (averaged over the processes); the collapse warning
    (``collapse_std``) looks at this process's shard. ``state_dict`` has the single-process
    format: either kind of run resumes from the other's checkpoints.
    """

    def __init__(
        self,
        config: PretrainConfig,
        total_steps: int,
        device: torch.device,
        *,
        rank: int,
        world_size: int,
        init_state: Mapping[str, Any] | None = None,
    ) -> None:
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not one of {world_size} processes")
        if config.batch_size % world_size:
            raise ValueError(f"batch_size {config.batch_size} must be a multiple of the {world_size} processes")
        super().__init__(config, total_steps, device, init_state=init_state)
        self.rank, self.world_size = rank, world_size
        convert_sync_batchnorm(self.model, device)  # in place below the root; parameters unchanged
        self.train_mode()
        device_ids = [device.index] if device.type == "cuda" else None
        # No buffer broadcast before each forward: synchronised BatchNorm keeps the running statistics equal.
        self.network = compiled(
            DistributedDataParallel(self.model, device_ids=device_ids, forward_sync_buffers=False), config)

    def train_step(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[0] % self.world_size:
            raise ValueError(f"a batch of {images.shape[0]} does not split into {self.world_size} equal shards")
        per_rank = images.shape[0] // self.world_size
        self.shard = slice(self.rank * per_rank, (self.rank + 1) * per_rank)
        return super().train_step(images)

    def batch_loss(self, loss: torch.Tensor) -> torch.Tensor:
        # Asynchronous on GPUs: no host sync, the value is read when progress is reported.
        dist.all_reduce(loss)
        return loss / self.world_size


class StopFlag:
    """Rank 0's decision to stop (``local``: a stop request, or the launcher gone), shared by all
    processes before every step, so that every process stops at the same step. The flag travels
    over a gloo group (``group``): a CPU exchange that never waits for the GPU."""

    def __init__(self, local: Callable[[], bool], group: dist.ProcessGroup | None) -> None:
        self.local, self.group = local, group

    def __call__(self) -> bool:
        flag = torch.zeros(1, dtype=torch.uint8)
        if dist.get_rank() == 0 and self.local():
            flag.fill_(1)
        dist.broadcast(flag, src=0, group=self.group)
        return bool(flag.item())


def parent_gone() -> Callable[[], bool]:
    """True once the process that started this one has died (this one was re-parented)."""
    parent = os.getppid()
    return lambda: os.getppid() != parent


def fingerprint(module: nn.Module) -> list[float]:
    """Three float64 sums of ``module``'s parameters (plain, squared, position-weighted): equal
    for equal weights, different as soon as one value differs (for all practical purposes)."""
    values = torch.cat([p.detach().double().flatten().cpu() for p in module.parameters()])
    positions = torch.arange(values.numel(), dtype=torch.float64) % 101 + 1
    return [float(values.sum()), float((values * values).sum()), float((values * positions).sum())]


def gather_rank_summaries(run: DistributedPretrainRun, checkpoints_written: int, group: dist.ProcessGroup | None
                          ) -> list[dict[str, Any]]:
    """Every process's checkpoint count and online and target fingerprints, in rank order; raises
    when the processes' networks differ (they must stay identical)."""
    online = nn.ModuleList([run.model.online_encoder, run.model.online_projector, run.model.predictor])
    target = nn.ModuleList([run.model.target_encoder, run.model.target_projector])
    mine = torch.tensor([float(checkpoints_written), *fingerprint(online), *fingerprint(target)], dtype=torch.float64)
    gathered = [torch.empty_like(mine) for _ in range(run.world_size)]
    dist.all_gather(gathered, mine, group=group)
    summaries = [{"checkpoints": int(row[0]), "online": row[1:4].tolist(), "target": row[4:7].tolist()}
                 for row in gathered]
    # Equal to the last bit in every run seen; the tolerance only spares a long run a failure
    # over rounding noise, while a real divergence (a missed synchronisation) is far larger.
    if any(not torch.allclose(row[1:], gathered[0][1:], rtol=_DIVERGED_RTOL, atol=0.0) for row in gathered):
        raise RuntimeError(f"the processes' networks diverged: {summaries}")
    return summaries
