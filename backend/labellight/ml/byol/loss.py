"""BYOL regression loss (Grill et al. 2020, eq. 2)."""

from __future__ import annotations

import torch
from torch.nn import functional


def byol_loss(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Mean normalised squared error between online predictions and target projections.

    L = || p/||p|| - z/||z|| ||^2 = 2 - 2 * cos(p, z), averaged over the batch.

    ``p``: online prediction q(g(f(v))), (B, D). ``z``: target projection g'(f'(v')), (B, D);
    it is detached (stop-gradient), so only the online branch learns. Returns a scalar in [0, 4],
    0 when every p points the same way as its z. Computed in fp32 for stable normalisation
    under autocast.
    """
    if p.ndim != 2 or p.shape != z.shape:
        raise ValueError(f"p and z must both be (B, D); got {tuple(p.shape)} and {tuple(z.shape)}")
    p = functional.normalize(p.float(), dim=1)
    z = functional.normalize(z.detach().float(), dim=1)
    return (2.0 - 2.0 * (p * z).sum(dim=1)).mean()
