"""BYOL projection and prediction heads (Grill et al. 2020, sec. 3.3)."""

from __future__ import annotations

import torch
from torch import nn


class MLPHead(nn.Module):
    """Two-layer MLP ``Linear -> BatchNorm1d -> ReLU -> Linear``.

    Used both as the projector g (y -> z) and the predictor q (z -> p).
    Input (B, in_dim), output (B, out_dim). BatchNorm needs B >= 2 in training mode.
    """

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int) -> None:
        super().__init__()
        for label, value in (("in_dim", in_dim), ("hidden_dim", hidden_dim), ("out_dim", out_dim)):
            if value < 1:
                raise ValueError(f"{label} must be >= 1, got {value}")
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_dim),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, out_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_dim) -> (B, out_dim)."""
        out: torch.Tensor = self.net(x)
        return out
