"""What a selection strategy returns: a row to label and why it was chosen."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Suggestion:
    """``index``: row in the candidate arrays. ``reason``: always has "strategy", plus its scores."""

    index: int
    reason: dict[str, float | int | str]
