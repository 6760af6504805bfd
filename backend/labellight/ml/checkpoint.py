"""Saving and loading torch state dicts: atomic on write, ``weights_only`` on read."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from labellight.ml.atomic_file import atomic_path


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
