"""Saving and loading torch state dicts (atomic on write, ``weights_only`` on read), and what a
resumable pretraining checkpoint holds."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from labellight.common.atomic_file import atomic_path
from labellight.ml.pretrain.config import PretrainConfig
from labellight.ml.pretrain.run import PretrainRun


def save_state_dict(module_or_dict: nn.Module | Mapping[str, Any], path: Path) -> None:
    """Write a module's ``state_dict()`` (or a plain state mapping) to ``path`` atomically.

    A mapping may nest tensors, numbers, strings, lists and dicts (e.g. model + optimizer +
    step + RNG states for a resumable checkpoint); everything must be loadable with
    ``weights_only=True``.
    """
    state = module_or_dict.state_dict() if isinstance(module_or_dict, nn.Module) else dict(module_or_dict)
    with atomic_path(Path(path)) as tmp:
        torch.save(state, tmp)


def load_state_dict(path: Path, *, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a state dict saved by :func:`save_state_dict`, never unpickling arbitrary objects."""
    state = torch.load(Path(path), map_location=map_location, weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not hold a state dict (got {type(state).__name__})")
    return state


def config_to_json(config: PretrainConfig) -> dict[str, Any]:
    """``config`` as JSON values (paths become strings), for the database and checkpoints."""
    plain: dict[str, Any] = json.loads(json.dumps(asdict(config), default=str))
    return plain


def config_from_json(plain: Mapping[str, Any]) -> PretrainConfig:
    """The inverse of :func:`config_to_json`."""
    values = dict(plain)
    if values.get("init_weights"):
        values["init_weights"] = Path(values["init_weights"])
    return PretrainConfig(**values)


def pretrain_checkpoint(run: PretrainRun, extras: Mapping[str, Any]) -> dict[str, Any]:
    """A resumable pretraining checkpoint: ``extras``, the run's state (``"run"``) and its config
    as planned (``"config"``, time budget turned into epochs: the plan is fixed once made)."""
    planned = replace(run.config, time_budget_s=None)
    return {**extras, "run": run.state_dict(), "config": config_to_json(planned)}
