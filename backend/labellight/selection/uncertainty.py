"""Uncertainty sampling by margin (Scheffer et al. 2001): scores, then selection (modAL style)."""

from __future__ import annotations

import numpy as np

from labellight.selection.pool import picks, unlabeled_rows
from labellight.selection.suggestion import Suggestion


def _check_probs(probs: np.ndarray) -> None:
    if probs.ndim != 2 or probs.shape[1] < 2 or not np.issubdtype(probs.dtype, np.floating):
        raise ValueError(f"probs must be a float array (N, C) with C >= 2, got {probs.dtype} {probs.shape}")


def margin_scores(probs: np.ndarray) -> np.ndarray:
    """Margin p(1) - p(2) between the two most probable classes, (N, C) -> (N,); small = uncertain."""
    _check_probs(probs)
    top_two = -np.partition(-probs, 1, axis=1)[:, :2]
    return (top_two[:, 0] - top_two[:, 1]).astype(np.float64)


def select_margin(probs: np.ndarray, labeled: np.ndarray, budget: int) -> list[Suggestion]:
    """The unlabeled rows with the smallest margins, most uncertain first (ties: lower row first).

    ``reason``: margin, top_probability and top_class_index (a column of ``probs``).
    """
    margins = margin_scores(probs)
    candidates = unlabeled_rows(labeled, probs.shape[0])
    order = candidates[np.argsort(margins[candidates], kind="stable")]
    return [
        Suggestion(
            index=int(i),
            reason={
                "strategy": "margin",
                "margin": float(margins[i]),
                "top_probability": float(probs[i].max()),
                "top_class_index": int(probs[i].argmax()),
            },
        )
        for i in order[: picks(budget, candidates.shape[0])]
    ]
