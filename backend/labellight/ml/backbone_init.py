"""Starting a backbone from existing weights: a local file or an earlier model's state dict.

Files are read with ``torch.load(weights_only=True)`` (no arbitrary unpickling) and nothing is
ever downloaded. Loading is lenient (a torchvision checkpoint has ``fc`` and a 7x7 stem the
small-image backbone lacks) but reported key by key, and a file that matches nothing is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

# Where checkpoints commonly nest the weights, and prefixes they commonly put before the names:
# DataParallel's "module.", SSL frameworks' "backbone."/"encoder.", our own BYOL "online_encoder.".
_NESTING_KEYS = ("state_dict", "model", "backbone")
_PREFIXES = ("", "module.", "backbone.", "encoder.", "model.", "online_encoder.", "module.backbone.")


@dataclass(frozen=True)
class WeightsReport:
    """What loading weights into a backbone did.

    ``loaded``: parameter/buffer names taken from the source. ``missing``: the backbone's names
    the source lacks (left as initialised). ``unexpected``: source names the backbone has no use
    for. ``mismatched``: names in both with different shapes (skipped, left as initialised).
    """

    source: str
    loaded: tuple[str, ...]
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    mismatched: tuple[str, ...]

    def summary(self) -> str:
        """One line for logs and job reports."""
        return (
            f"{self.source}: loaded {len(self.loaded)} tensors, {len(self.missing)} missing, "
            f"{len(self.unexpected)} unexpected, {len(self.mismatched)} of another shape"
        )


def _tensors(state: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    for key in _NESTING_KEYS:
        inner = state.get(key)
        if isinstance(inner, Mapping) and not any(isinstance(v, torch.Tensor) for v in state.values()):
            return _tensors(inner)
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def _strip_best_prefix(tensors: dict[str, torch.Tensor], wanted: set[str]) -> dict[str, torch.Tensor]:
    def renamed(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

    best = max(_PREFIXES, key=lambda prefix: len(wanted & set(renamed(prefix))))
    return renamed(best)


def read_weights_file(path: Path) -> dict[str, Any]:
    """The mapping saved in ``path`` (weights only); ValueError when it holds no mapping."""
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(state, Mapping):
        raise ValueError(f"{path} does not hold a state dict (got {type(state).__name__})")
    return dict(state)


def load_backbone_weights(module: nn.Module, source: Path | Mapping[str, Any]) -> WeightsReport:
    """Copy matching tensors of ``source`` (a weights file or a state dict) into ``module``.

    Names are matched after removing the most fitting common prefix; tensors whose shape differs
    are skipped. Raises ValueError when nothing matches (a wrong file must not pass silently as
    a random initialisation).
    """
    label = str(source) if isinstance(source, Path) else "state dict"
    state = read_weights_file(source) if isinstance(source, Path) else dict(source)
    own = module.state_dict()
    tensors = _strip_best_prefix(_tensors(state), set(own))
    mismatched = sorted(k for k in tensors.keys() & own.keys() if tensors[k].shape != own[k].shape)
    usable = {k: v for k, v in tensors.items() if k in own and k not in mismatched}
    if not any(k in usable for k, _ in module.named_parameters()):
        raise ValueError(f"{label} matches none of the backbone's parameters; is it a weights file for this backbone?")
    result = module.load_state_dict(usable, strict=False)
    return WeightsReport(
        source=label,
        loaded=tuple(sorted(usable)),
        missing=tuple(sorted(set(result.missing_keys) - set(mismatched))),
        unexpected=tuple(sorted(tensors.keys() - own.keys())),
        mismatched=tuple(mismatched),
    )
