"""Every strategy takes a seed (same seed, same picks) and a mask of rows it must never suggest."""

from typing import Any, Protocol

import numpy as np
import pytest

from labellight.selection.hybrid import select_hybrid
from labellight.selection.k_center import select_k_center
from labellight.selection.probcover import select_probcover
from labellight.selection.random_pick import select_random
from labellight.selection.suggestion import Suggestion
from labellight.selection.typical_clusters import select_typical
from labellight.selection.uncertainty import select_entropy, select_least_confidence, select_margin


class Select(Protocol):
    def __call__(self, labeled: np.ndarray, budget: int, seed: int = 0,
                 excluded: np.ndarray | None = None) -> list[Suggestion]: ...


# Unstructured points: nothing pins k-means or the random steps to one answer, so a seed shows.
POINTS = np.random.default_rng(0).normal(size=(400, 8)).astype(np.float32)
PROBS = np.random.default_rng(1).dirichlet(np.ones(3), size=POINTS.shape[0])
N = POINTS.shape[0]

STRATEGIES: dict[str, Select] = {
    "random": lambda labeled, budget, seed=0, excluded=None: select_random(N, labeled, budget, seed,
                                                                            excluded=excluded),
    "typical": lambda labeled, budget, seed=0, excluded=None: select_typical(POINTS, labeled, budget, seed,
                                                                              excluded=excluded),
    "probcover": lambda labeled, budget, seed=0, excluded=None: select_probcover(
        POINTS, labeled, budget, seed=seed, excluded=excluded).suggestions,
    "k_center": lambda labeled, budget, seed=0, excluded=None: select_k_center(POINTS, labeled, budget, seed,
                                                                                excluded=excluded),
    "hybrid": lambda labeled, budget, seed=0, excluded=None: select_hybrid(
        POINTS, PROBS, labeled, budget, np.zeros(3, np.int64), seed, excluded=excluded),
    "margin": lambda labeled, budget, seed=0, excluded=None: select_margin(PROBS, labeled, budget,
                                                                            excluded=excluded),
    "least_confidence": lambda labeled, budget, seed=0, excluded=None: select_least_confidence(
        PROBS, labeled, budget, excluded=excluded),
    "entropy": lambda labeled, budget, seed=0, excluded=None: select_entropy(PROBS, labeled, budget,
                                                                              excluded=excluded),
}
# Strategies with a random step (sampling, k-means initialisation, a random start).
SEEDED = ("random", "typical", "k_center", "hybrid")


def _rows(suggestions: list[Suggestion]) -> list[int]:
    return [s.index for s in suggestions]


def _mask(fraction: float, seed: int) -> np.ndarray:
    return np.asarray(np.random.default_rng(seed).random(N) < fraction, dtype=bool)


@pytest.mark.parametrize("name", STRATEGIES)
def test_the_same_seed_gives_the_same_picks(name: str) -> None:
    labeled = _mask(0.1, seed=5)
    first = STRATEGIES[name](labeled, 8, seed=7)
    again = STRATEGIES[name](labeled, 8, seed=7)
    assert _rows(first) == _rows(again)
    assert [s.reason for s in first] == [s.reason for s in again]


@pytest.mark.parametrize("name", SEEDED)
def test_another_seed_gives_another_draw(name: str) -> None:
    labeled = np.zeros(N, bool)
    draws = {tuple(sorted(_rows(STRATEGIES[name](labeled, 8, seed=seed)))) for seed in range(4)}
    assert len(draws) > 1


@pytest.mark.parametrize("name", STRATEGIES)
@pytest.mark.parametrize("budget", [1, 10, 1000])
def test_excluded_rows_are_never_suggested(name: str, budget: int) -> None:
    labeled, excluded = _mask(0.2, seed=2), _mask(0.5, seed=3)
    rows = _rows(STRATEGIES[name](labeled, budget, excluded=excluded))
    assert len(rows) == min(budget, int((~labeled & ~excluded).sum()))
    assert len(set(rows)) == len(rows)
    assert not excluded[rows].any()
    assert not labeled[rows].any()


@pytest.mark.parametrize("name", STRATEGIES)
def test_excluding_every_unlabeled_row_leaves_nothing_to_suggest(name: str) -> None:
    labeled = _mask(0.3, seed=4)
    assert STRATEGIES[name](labeled, 5, excluded=~labeled) == []


@pytest.mark.parametrize("name", STRATEGIES)
def test_excluding_picks_keeps_the_other_picks_of_a_deterministic_ranking(name: str) -> None:
    """Skipping some suggestions and asking again (same seed) moves on instead of starting over: the
    ranking strategies return the rest of their list; every strategy avoids the skipped rows."""
    labeled = _mask(0.1, seed=6)
    first = _rows(STRATEGIES[name](labeled, 6, seed=3))
    skipped = np.zeros(N, bool)
    skipped[first[:2]] = True
    second = _rows(STRATEGIES[name](labeled, 6, seed=3, excluded=skipped))
    assert not set(first[:2]) & set(second)
    if name in ("margin", "least_confidence", "entropy"):
        assert second[:4] == first[2:]


def test_typical_replaces_a_skipped_pick_by_another_point_of_its_cluster() -> None:
    """Excluded rows stay in the clusters, so a skip asks for another image like the skipped one."""
    labeled = np.zeros(N, bool)
    first = select_typical(POINTS, labeled, 5, seed=1)
    skipped = np.zeros(N, bool)
    skipped[first[0].index] = True
    second = select_typical(POINTS, labeled, 5, seed=1, excluded=skipped)
    assert [s.reason["cluster"] for s in second] == [s.reason["cluster"] for s in first]
    assert second[0].index != first[0].index
    assert [s.index for s in second[1:]] == [s.index for s in first[1:]]


@pytest.mark.parametrize("name", STRATEGIES)
@pytest.mark.parametrize("bad", [np.zeros(N, np.int64), np.zeros(N - 1, bool)])
def test_a_bad_excluded_mask_is_refused(name: str, bad: Any) -> None:
    with pytest.raises(ValueError, match="excluded must be a bool mask"):
        STRATEGIES[name](np.zeros(N, bool), 3, excluded=bad)
