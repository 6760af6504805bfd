"""A collapse warning for BYOL (the std of normalised outputs, as in SimSiam, Chen & He 2021, sec. 4.1)."""

from __future__ import annotations

import math

import torch
from torch.nn import functional


def normalized_std(z: torch.Tensor) -> torch.Tensor:
    """Mean over dimensions of the per-dimension std of the L2-normalised rows of ``z`` (B, D).

    About 1/sqrt(D) when the outputs spread over the unit sphere; falls to 0 when every input
    maps to the same direction (collapse). Returns a 0-dim tensor on ``z``'s device (no host
    sync; call ``.item()`` only when reporting).
    """
    if z.ndim != 2 or z.shape[0] < 2:
        raise ValueError(f"z must be (B, D) with B >= 2, got {tuple(z.shape)}")
    return functional.normalize(z.detach().float(), dim=1).std(dim=0).mean()


def healthy_std(dim: int) -> float:
    """The value of :func:`normalized_std` for outputs spread uniformly over the sphere: 1/sqrt(D)."""
    if dim < 1:
        raise ValueError(f"dim must be >= 1, got {dim}")
    return 1.0 / math.sqrt(dim)
