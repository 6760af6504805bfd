from collections.abc import Callable

import numpy as np
import pytest

from labellight.selection.hybrid import select_hybrid
from labellight.selection.k_center import select_k_center
from labellight.selection.probcover import select_probcover
from labellight.selection.random_pick import select_random
from labellight.selection.suggestion import Suggestion
from labellight.selection.typical_clusters import select_typical, typicality
from labellight.selection.uncertainty import (
    margin_scores,
    select_entropy,
    select_least_confidence,
    select_margin,
)


def _blobs(n_blobs: int = 5, per_blob: int = 30, dim: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_blobs, dim)) * 20
    x = np.concatenate([c + rng.normal(size=(per_blob, dim)) for c in centres]).astype(np.float32)
    return x, np.repeat(np.arange(n_blobs), per_blob)


def _probs(n: int, seed: int = 0) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(size=(n, 3)) * 2
    e: np.ndarray = np.exp(logits)
    e /= e.sum(axis=1, keepdims=True)
    return e


Strategy = Callable[[np.ndarray, int], list[Suggestion]]
EMBEDDINGS, _ = _blobs()
PROBS = _probs(EMBEDDINGS.shape[0])
STRATEGIES: dict[str, Strategy] = {
    "random": lambda labeled, budget: select_random(labeled.shape[0], labeled, budget),
    "typical": lambda labeled, budget: select_typical(EMBEDDINGS, labeled, budget),
    "margin": lambda labeled, budget: select_margin(PROBS, labeled, budget),
    "least_confidence": lambda labeled, budget: select_least_confidence(PROBS, labeled, budget),
    "entropy": lambda labeled, budget: select_entropy(PROBS, labeled, budget),
    "probcover": lambda labeled, budget: select_probcover(EMBEDDINGS, labeled, budget).suggestions,
    "k_center": lambda labeled, budget: select_k_center(EMBEDDINGS, labeled, budget),
    "hybrid": lambda labeled, budget: select_hybrid(EMBEDDINGS, PROBS, labeled, budget, np.zeros(3, np.int64)),
}


@pytest.mark.parametrize("name", STRATEGIES)
@pytest.mark.parametrize("budget", [0, 1, 7, 1000])
def test_strategies_never_suggest_labeled_rows_nor_duplicates(name: str, budget: int) -> None:
    labeled = np.asarray(np.random.default_rng(3).random(EMBEDDINGS.shape[0]) < 0.6, dtype=bool)
    suggestions = STRATEGIES[name](labeled, budget)
    rows = [s.index for s in suggestions]
    assert len(rows) == min(budget, int((~labeled).sum()))
    assert len(set(rows)) == len(rows)
    assert not labeled[rows].any()
    assert all(s.reason["strategy"] == name for s in suggestions)


@pytest.mark.parametrize("name", STRATEGIES)
def test_strategies_return_nothing_when_all_labeled(name: str) -> None:
    assert STRATEGIES[name](np.ones(EMBEDDINGS.shape[0], bool), 5) == []


@pytest.mark.parametrize("name", STRATEGIES)
def test_strategies_validate_mask_and_budget(name: str) -> None:
    with pytest.raises(ValueError, match="bool mask"):
        STRATEGIES[name](np.zeros(EMBEDDINGS.shape[0], np.int64), 3)
    with pytest.raises(ValueError, match="budget"):
        STRATEGIES[name](np.zeros(EMBEDDINGS.shape[0], bool), -1)


def test_random_is_seeded() -> None:
    labeled = np.zeros(100, bool)
    assert select_random(100, labeled, 10, seed=1) == select_random(100, labeled, 10, seed=1)
    assert select_random(100, labeled, 10, seed=1) != select_random(100, labeled, 10, seed=2)


def test_typical_covers_every_cluster_when_budget_equals_cluster_count() -> None:
    x, blob = _blobs(n_blobs=6)
    suggestions = select_typical(x, np.zeros(len(x), bool), budget=6)
    assert sorted(blob[[s.index for s in suggestions]]) == list(range(6))
    for s in suggestions:
        assert s.reason["cluster_size"] == 30
        assert float(s.reason["typicality"]) > 0


def test_typical_skips_clusters_that_hold_a_label() -> None:
    x, blob = _blobs(n_blobs=5)
    labeled = np.zeros(len(x), bool)
    labeled[[0, 31]] = True  # one label in blob 0 and one in blob 1
    chosen = blob[[s.index for s in select_typical(x, labeled, budget=3)]]
    assert sorted(chosen) == [2, 3, 4]


def test_typical_prefers_the_dense_centre_of_a_cluster() -> None:
    rng = np.random.default_rng(0)
    core = rng.normal(scale=0.1, size=(25, 2))
    outliers = rng.normal(scale=0.1, size=(5, 2)) + 3.0
    points = np.concatenate([core, outliers]).astype(np.float32)
    scores = typicality(points)
    assert scores[:25].min() > scores[25:].max()
    assert select_typical(points, np.zeros(30, bool), budget=1)[0].index < 25


def test_margin_scores_and_selection_pick_the_most_uncertain() -> None:
    probs = np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.5, 0.1, 0.4], [0.34, 0.33, 0.33]])
    np.testing.assert_allclose(margin_scores(probs), [0.85, 0.05, 0.1, 0.01])
    suggestions = select_margin(probs, np.zeros(4, bool), budget=2)
    assert [s.index for s in suggestions] == [3, 1]
    assert suggestions[0].reason["margin"] == pytest.approx(0.01)
    assert suggestions[0].reason["top_probability"] == pytest.approx(0.34)
    assert suggestions[0].reason["top_class_index"] == 0
    labeled = np.array([False, False, False, True])
    assert [s.index for s in select_margin(probs, labeled, budget=2)] == [1, 2]


def test_margin_rejects_single_class_probabilities() -> None:
    with pytest.raises(ValueError, match="C >= 2"):
        margin_scores(np.ones((3, 1)))
