"""One pretraining over several processes (DDP): the program each process runs.

Design. Each process is a plain ``python -m labellight.ml.pretrain.distributed.pretrain --spec FILE``
with torchrun's environment (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``), so the same program runs
under ``torchrun --nproc_per_node=N -m labellight.ml.pretrain.distributed.pretrain --spec FILE`` or under
:func:`labellight.ml.pretrain.distributed.launch.pretrain_distributed`, which starts the processes itself
(rendezvous through a file, no port) and is what the pretrain job uses. Everything a process
needs is in files named by the spec (:class:`DistributedSpec`): the pixel cache is memory-mapped,
the config is JSON, start weights and checkpoints are state-dict files. Processes never share
Python objects, so a job's process starts them with ``subprocess`` (a Celery pool process may not
fork children of its own) and CUDA is only ever touched inside them.

Roles. Every rank trains (:class:`~labellight.ml.pretrain.distributed.run.DistributedPretrainRun`);
rank 0 alone writes progress (JSON lines), checkpoints (the single-process format, same cadence:
every epoch and at most ``checkpoint_interval_s`` apart) and the result (the shipped backbone,
after the same guard as a single-process run). Stopping is rank 0's decision, shared before every
step: a ``stop`` file in the work directory, or the launcher gone. The backend is NCCL on GPUs
and gloo on CPUs (tests); stop flags and the final cross-rank check always go over gloo.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from labellight.ml.checkpoint import config_from_json, load_state_dict, pretrain_checkpoint, save_state_dict
from labellight.ml.pretrain.config import PretrainConfig
from labellight.ml.pretrain.distributed.run import DistributedPretrainRun, StopFlag, gather_rank_summaries, parent_gone
from labellight.ml.pretrain.loop import (
    CheckpointPolicy,
    PretrainCancelled,
    PretrainProgress,
    planned_schedule,
    train,
    train_and_guard,
    validate_pixels,
)
from labellight.ml.pretrain.run import PretrainRun
from labellight.ml.pretrain.schedule import Schedule, schedule_for

# Exit status of every process of a cancelled run.
CANCELLED_EXIT = 3
PROGRESS_FILE = "progress.jsonl"
RESULT_FILE = "result.pt"
STOP_FILE = "stop"


@dataclass(frozen=True)
class DistributedSpec:
    """What every process of a distributed pretraining reads (JSON in a file).

    ``pixels``: raw uint8 rows (``images`` x ``image_side`` x ``image_side`` x 3, the pixel
    cache). ``config``: a :func:`~labellight.ml.checkpoint.config_to_json` config; its batch size
    is the global batch, split evenly over the processes. ``workdir``: progress, stop file and
    result. ``checkpoint``: where rank 0 writes checkpoints (None: none), each holding
    ``checkpoint_extras`` (a state-dict file) besides the run. ``resume_from``: a checkpoint file
    whose ``"run"`` the processes continue. ``init_state``: start backbone weights (state-dict
    file). ``device``: ``"cuda"`` (one GPU per process, by local rank) or ``"cpu"``.
    """

    pixels: str
    images: int
    image_side: int
    config: dict[str, Any]
    workdir: str
    device: str = "cpu"
    checkpoint: str | None = None
    checkpoint_extras: str | None = None
    checkpoint_interval_s: float = 300.0
    resume_from: str | None = None
    init_state: str | None = None
    guard: bool | None = None
    progress_interval_s: float = 3.0

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> DistributedSpec:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


class _ProgressFile:
    """Rank 0's progress reports and checkpoints, one JSON object per line (``"kind"``:
    ``"progress"`` or ``"checkpoint"``), for the launcher to follow."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, progress: PretrainProgress) -> None:
        self._append({"kind": "progress", **asdict(progress)})

    def checkpointed(self, run: PretrainRun) -> None:
        self._append({"kind": "checkpoint", "step": run.step, "total_steps": run.total_steps,
                      "epochs": run.config.epochs})

    def _append(self, line: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")


def _agreed_schedule(
    schedule: Schedule, n_images: int, config: PretrainConfig, group: dist.ProcessGroup | None
) -> Schedule:
    """Rank 0's plan for every rank (a time budget is planned from each rank's own measurements)."""
    plan = torch.tensor([schedule.epochs, schedule.total_steps], dtype=torch.int64)
    dist.broadcast(plan, src=0, group=group)
    return replace(schedule_for(n_images, config, int(plan[0].item())), steps=int(plan[1].item()))


def _control_group() -> dist.ProcessGroup | None:
    """A gloo group for the small CPU exchanges when the main backend is not gloo (None: the default group)."""
    if dist.get_backend() == "gloo":
        return None
    group = dist.new_group(backend="gloo")
    if not isinstance(group, dist.ProcessGroup):
        raise RuntimeError("this process is not part of the gloo control group")
    return group


def run_rank(spec: DistributedSpec, rank: int, world_size: int, device: torch.device) -> None:
    """Rank ``rank``'s part of the run described by ``spec`` (the process group is initialised)."""
    config = config_from_json(spec.config)
    side = spec.image_side
    pixels = np.memmap(spec.pixels, dtype=np.uint8, mode="r", shape=(spec.images, side, side, 3))
    validate_pixels(pixels)
    init_state = load_state_dict(Path(spec.init_state)) if spec.init_state else None
    resume = load_state_dict(Path(spec.resume_from))["run"] if spec.resume_from else None
    control = _control_group()
    leader = rank == 0
    workdir = Path(spec.workdir)

    def make_run(total_steps: int) -> PretrainRun:
        return DistributedPretrainRun(config, total_steps, device, rank=rank, world_size=world_size,
                                      init_state=init_state)

    schedule, seconds_per_step = planned_schedule(pixels, config, resume, make_run)
    schedule = _agreed_schedule(schedule, spec.images, config, control)
    run = DistributedPretrainRun(replace(config, epochs=schedule.epochs), schedule.total_steps, device, rank=rank,
                                 world_size=world_size, init_state=init_state)
    stopped = parent_gone()
    stop = StopFlag(lambda: (workdir / STOP_FILE).exists() or stopped(), control)
    progress = _ProgressFile(workdir / PROGRESS_FILE) if leader else None
    written = 0
    checkpoints = None
    if progress is not None and spec.checkpoint is not None:
        extras = load_state_dict(Path(spec.checkpoint_extras)) if spec.checkpoint_extras else {}
        checkpoint_path = Path(spec.checkpoint)

        def save(trained: PretrainRun) -> None:
            nonlocal written
            save_state_dict(pretrain_checkpoint(trained, extras), checkpoint_path)
            written += 1
            progress.checkpointed(trained)

        checkpoints = CheckpointPolicy(save, interval_s=spec.checkpoint_interval_s)
    summaries: list[dict[str, Any]] = []

    def train_run() -> None:
        nonlocal summaries
        train(run, pixels, schedule, progress, stop, spec.progress_interval_s, checkpoints)
        summaries = gather_rank_summaries(run, written, control)

    result = train_and_guard(run, pixels, schedule, train_run, resume_from=resume,
                             guard=spec.guard if leader else False, from_state=init_state is not None,
                             seconds_per_step=seconds_per_step)
    if leader:
        choice = asdict(result.choice) if result.choice is not None else None
        save_state_dict({"backbone": result.backbone.state_dict(), "kept": result.kept, "reason": result.reason,
                         "start": result.start, "epochs": result.epochs, "total_steps": result.total_steps,
                         "seconds_per_step": result.seconds_per_step, "choice": choice, "ranks": summaries,
                         "epochs_run": result.epochs_run, "stop_reason": result.stop_reason},
                        workdir / RESULT_FILE)


def _device(spec: DistributedSpec, local_rank: int) -> torch.device:
    if spec.device == "cuda":
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="One process of a distributed BYOL pretraining.")
    parser.add_argument("--spec", type=Path, required=True, help="a DistributedSpec JSON file")
    parser.add_argument("--init-method", default="env://", help="torch.distributed rendezvous (default: env://)")
    args = parser.parse_args(argv)
    spec = DistributedSpec.read(args.spec)
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    device = _device(spec, int(os.environ.get("LOCAL_RANK", rank)))
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, init_method=args.init_method, rank=rank, world_size=world_size)
    try:
        run_rank(spec, rank, world_size, device)
    except PretrainCancelled:
        return CANCELLED_EXIT
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
