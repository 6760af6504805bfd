"""Start a distributed pretraining's processes, follow them, and hand back the result.

The launching process (e.g. the pretrain job) never imports CUDA state: it writes the spec and
the state-dict files into a temporary work directory, starts ``world_size`` processes of
:mod:`labellight.ml.pretrain.distributed.pretrain` (torchrun's environment variables, rendezvous through
a file in the work directory), and polls: rank 0's progress lines go to ``on_progress``, a True
``should_stop`` creates the stop file that rank 0 shares with every rank before its next step.
A failing process stops the others; an exception in the launcher (a lost job lease, say) stops
them all before it propagates.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import torch

from labellight.ml.backbones import build_backbone
from labellight.ml.checkpoint import config_from_json, load_state_dict, save_state_dict
from labellight.ml.pretrain.budget import EPOCHS_DONE
from labellight.ml.pretrain.config import PretrainConfig
from labellight.ml.pretrain.distributed.pretrain import (
    CANCELLED_EXIT,
    PROGRESS_FILE,
    RESULT_FILE,
    STOP_FILE,
    DistributedSpec,
)
from labellight.ml.pretrain.loop import PretrainCancelled, PretrainProgress, PretrainResult
from labellight.ml.quality import BackboneChoice

# Seconds between looks at the processes, their progress and ``should_stop``.
_POLL_S = 0.2
# Seconds the processes get to exit after SIGTERM before they are killed.
_TERMINATE_GRACE_S = 10.0
_LOG_TAIL_CHARS = 4000


@dataclass(frozen=True)
class Checkpointed:
    """Rank 0 wrote a checkpoint at ``step`` of ``total_steps`` (``epochs`` planned)."""

    step: int
    total_steps: int
    epochs: int


@dataclass
class DistributedResult(PretrainResult):
    """A :class:`PretrainResult` with, per rank, the checkpoints it wrote and fingerprints of its
    online and target networks at the end (equal across ranks, or the run fails)."""

    ranks: list[dict[str, Any]] = field(default_factory=list)


def processes_for(requested: int, batch_size: int, n_images: int) -> int:
    """How many processes a run gets: ``requested`` (0: one per GPU when the machine has more than
    one, else 1), at most one per GPU when there are GPUs, and 1 when the batch (``batch_size``,
    clipped to ``n_images``) does not split evenly over them."""
    if requested < 0:
        raise ValueError(f"the number of processes must be >= 0, got {requested}")
    gpus = torch.cuda.device_count()
    wanted = (gpus if gpus > 1 else 1) if requested == 0 else requested
    if gpus > 0:
        wanted = min(wanted, gpus)
    return wanted if min(batch_size, n_images) % wanted == 0 else 1


def pretrain_distributed(
    spec: DistributedSpec,
    world_size: int,
    *,
    on_progress: Callable[[PretrainProgress], None] | None = None,
    on_checkpoint: Callable[[Checkpointed], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    init_state: Mapping[str, Any] | None = None,
    checkpoint_extras: Mapping[str, Any] | None = None,
    workdir: Path | None = None,
) -> DistributedResult:
    """Run ``spec`` on ``world_size`` processes. ``spec.workdir`` becomes ``workdir`` (emptied
    first, removed at the end; default: a temporary directory), which also holds ``init_state``
    and ``checkpoint_extras`` (see :class:`DistributedSpec`). A directory of its own (the job's,
    say) is cleaned by the next attempt when a crash left it behind.

    ``on_progress`` receives rank 0's progress reports, ``on_checkpoint`` hears of each checkpoint
    rank 0 has written. Raises :class:`PretrainCancelled` after ``should_stop``, ``RuntimeError``
    (with the end of the failing process's log) when a process fails.
    """
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    batch_size = min(int(spec.config["batch_size"]), spec.images)
    if batch_size % world_size:
        raise ValueError(f"the batch of {batch_size} images does not split evenly over {world_size} processes")
    with _work_directory(workdir) as workdir:
        spec = replace(spec, workdir=str(workdir), init_state=_saved(init_state, workdir / "init_state.pt"),
                       checkpoint_extras=_saved(checkpoint_extras, workdir / "checkpoint_extras.pt"))
        spec.write(workdir / "spec.json")
        with _processes(workdir, world_size) as processes:
            _follow(workdir, processes, _Listeners(on_progress, on_checkpoint), should_stop)
        return _result(workdir / RESULT_FILE, config_from_json(spec.config))


@contextlib.contextmanager
def _work_directory(path: Path | None) -> Iterator[Path]:
    if path is None:
        with tempfile.TemporaryDirectory(prefix="labellight-ddp-") as tmp:
            yield Path(tmp)
        return
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _saved(state: Mapping[str, Any] | None, path: Path) -> str | None:
    if state is None:
        return None
    save_state_dict(state, path)
    return str(path)


@dataclass
class _Rank:
    process: subprocess.Popen[bytes]
    log: Path


@contextlib.contextmanager
def _processes(workdir: Path, world_size: int) -> Iterator[list[_Rank]]:
    ranks: list[_Rank] = []
    logs: list[IO[bytes]] = []
    env = {**os.environ, "WORLD_SIZE": str(world_size)}
    # As torchrun does: one process per core share, not every process on every core.
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // world_size)))
    command = [sys.executable, "-m", "labellight.ml.pretrain.distributed.pretrain",
               "--spec", str(workdir / "spec.json"), "--init-method", f"file://{workdir / 'rendezvous'}"]
    try:
        for rank in range(world_size):
            log = workdir / f"rank{rank}.log"
            logs.append(log.open("wb"))
            rank_env = {**env, "RANK": str(rank), "LOCAL_RANK": str(rank)}
            process = subprocess.Popen(command, env=rank_env, stdout=logs[-1], stderr=subprocess.STDOUT)
            ranks.append(_Rank(process, log))
        yield ranks
    finally:
        _stop_all(ranks)
        for f in logs:
            f.close()


def _stop_all(ranks: list[_Rank]) -> None:
    running = [r.process for r in ranks if r.process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + _TERMINATE_GRACE_S
    for process in running:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class _Listeners:
    on_progress: Callable[[PretrainProgress], None] | None
    on_checkpoint: Callable[[Checkpointed], None] | None

    def hear(self, line: dict[str, Any]) -> None:
        kind = line.pop("kind")
        if kind == "progress" and self.on_progress is not None:
            self.on_progress(PretrainProgress(**line))
        elif kind == "checkpoint" and self.on_checkpoint is not None:
            self.on_checkpoint(Checkpointed(**line))


def _follow(workdir: Path, ranks: list[_Rank], listeners: _Listeners, should_stop: Callable[[], bool] | None) -> None:
    progress = _ProgressReader(workdir / PROGRESS_FILE)
    while True:
        codes = [r.process.poll() for r in ranks]
        for line in progress.new_lines():
            listeners.hear(line)
        failed = [(rank, code) for rank, code in enumerate(codes) if code not in (None, 0, CANCELLED_EXIT)]
        if failed:
            rank, code = failed[0]
            tail = ranks[rank].log.read_text(encoding="utf-8", errors="replace")[-_LOG_TAIL_CHARS:]
            raise RuntimeError(f"distributed pretraining: process {rank} exited with status {code}:\n{tail}")
        if all(code is not None for code in codes):
            if all(code == CANCELLED_EXIT for code in codes):
                raise PretrainCancelled("pretraining cancelled: every process stopped at the same step")
            if CANCELLED_EXIT in codes:
                raise RuntimeError(f"distributed pretraining: some processes stopped, others finished: {codes}")
            return
        if should_stop is not None and should_stop():
            (workdir / STOP_FILE).touch()
        time.sleep(_POLL_S)


class _ProgressReader:
    """Complete lines appended to rank 0's progress file since the last call, as JSON objects."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0

    def new_lines(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        return [json.loads(line) for line in complete.splitlines()]


def _result(path: Path, config: PretrainConfig) -> DistributedResult:
    state = load_state_dict(path)
    backbone, _ = build_backbone(config.backbone, config.small_images)
    backbone.load_state_dict(state["backbone"])
    backbone.eval()
    choice = BackboneChoice(**state["choice"]) if state["choice"] is not None else None
    return DistributedResult(backbone, state["kept"], state["reason"], state["start"], int(state["epochs"]),
                             int(state["total_steps"]), state["seconds_per_step"], None, choice,
                             epochs_run=float(state.get("epochs_run", state["epochs"])),
                             stop_reason=str(state.get("stop_reason", EPOCHS_DONE)), ranks=state["ranks"])
