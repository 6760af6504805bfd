"""Uncertainty sampling (Settles 2009 survey): scores, then selection (modAL style).

Scores map class probabilities (N, C) to one number per row:

- least confidence (Lewis & Gale 1994): 1 - max_c p(c)            (high = uncertain)
- margin (Scheffer et al. 2001): p(1) - p(2), the two most probable (low = uncertain)
- entropy (Shannon): -sum_c p(c) log p(c)                          (high = uncertain)

Selection returns the most uncertain unlabeled rows, ties broken by the lower row.
"""

from __future__ import annotations

import numpy as np

from labellight.selection.pool import picks, unlabeled_rows
from labellight.selection.suggestion import Suggestion


def _check_probs(probs: np.ndarray) -> None:
    if probs.ndim != 2 or probs.shape[1] < 2 or not np.issubdtype(probs.dtype, np.floating):
        raise ValueError(f"probs must be a float array (N, C) with C >= 2, got {probs.dtype} {probs.shape}")


def least_confidence_scores(probs: np.ndarray) -> np.ndarray:
    """1 - p(1), one minus the top probability, (N, C) -> (N,); large = uncertain."""
    _check_probs(probs)
    scores: np.ndarray = 1.0 - probs.max(axis=1).astype(np.float64)
    return scores


def margin_scores(probs: np.ndarray) -> np.ndarray:
    """Margin p(1) - p(2) between the two most probable classes, (N, C) -> (N,); small = uncertain."""
    _check_probs(probs)
    top_two = -np.partition(-probs, 1, axis=1)[:, :2]
    return (top_two[:, 0] - top_two[:, 1]).astype(np.float64)


def entropy_scores(probs: np.ndarray) -> np.ndarray:
    """Entropy -sum p log p in nats, (N, C) -> (N,); large = uncertain (0 <= H <= log C)."""
    _check_probs(probs)
    p = probs.astype(np.float64)
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    entropy: np.ndarray = -plogp.sum(axis=1)
    return entropy


def select_least_confidence(
    probs: np.ndarray, labeled: np.ndarray, budget: int, *, excluded: np.ndarray | None = None
) -> list[Suggestion]:
    """The unlabeled rows whose top probability is lowest. ``reason``: least_confidence + top class."""
    return _select_most_uncertain("least_confidence", least_confidence_scores(probs), probs, labeled, budget,
                                  excluded=excluded)


def select_margin(
    probs: np.ndarray, labeled: np.ndarray, budget: int, *, excluded: np.ndarray | None = None
) -> list[Suggestion]:
    """The unlabeled rows with the smallest margins, most uncertain first (ties: lower row first).

    ``reason``: margin, top_probability and top_class_index (a column of ``probs``).
    """
    margins = margin_scores(probs)
    return _select_most_uncertain("margin", margins, probs, labeled, budget, uncertainty=-margins,
                                  excluded=excluded)


def select_entropy(
    probs: np.ndarray, labeled: np.ndarray, budget: int, *, excluded: np.ndarray | None = None
) -> list[Suggestion]:
    """The unlabeled rows with the highest entropy. ``reason``: entropy + top class."""
    return _select_most_uncertain("entropy", entropy_scores(probs), probs, labeled, budget, excluded=excluded)


def _select_most_uncertain(
    name: str,
    scores: np.ndarray,
    probs: np.ndarray,
    labeled: np.ndarray,
    budget: int,
    uncertainty: np.ndarray | None = None,
    excluded: np.ndarray | None = None,
) -> list[Suggestion]:
    """Rank unlabeled, not ``excluded`` rows by ``uncertainty`` (default: ``scores``), highest first;
    report ``scores``."""
    order_key = scores if uncertainty is None else uncertainty
    candidates = unlabeled_rows(labeled, probs.shape[0], excluded)
    order = candidates[np.argsort(-order_key[candidates], kind="stable")]
    return [
        Suggestion(
            index=int(i),
            reason={
                "strategy": name,
                name: float(scores[i]),
                "top_probability": float(probs[i].max()),
                "top_class_index": int(probs[i].argmax()),
            },
        )
        for i in order[: picks(budget, candidates.shape[0])]
    ]
