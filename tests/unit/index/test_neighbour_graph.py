"""The stored kNN graph: narrowing it to the images that still exist, the graph among a subset, and
the review aids giving the same answers from it as from a graph built on the spot."""

from pathlib import Path

import numpy as np
import pytest

import labellight.index.neighbour_graph as neighbour_graph_module
from labellight.config import get_settings
from labellight.curation.mislabels import suspected_mislabels
from labellight.curation.near_duplicates import near_duplicate_groups
from labellight.curation.ood import calibrate_ood
from labellight.curation.propagation import propagate_labels
from labellight.db.models import Backbone
from labellight.index.neighbour_graph import NeighbourGraph, knn_graph, neighbours_within
from labellight.services.model_store import neighbour_graph
from labellight.storage.keys import embeddings_key, neighbour_graph_key


def _clustered(n: int, dim: int = 8, centres: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, centres, n)
    x = rng.normal(size=(centres, dim))[cluster] + rng.normal(scale=0.4, size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), cluster


def test_search_in_chunks_reports_progress_and_matches_one_search(monkeypatch: pytest.MonkeyPatch) -> None:
    x, _ = _clustered(50)
    whole = knn_graph(x, 4)
    monkeypatch.setattr(neighbour_graph_module, "_SEARCH_CHUNK", 7)
    seen: list[float] = []
    chunked = knn_graph(x, 4, progress=seen.append)
    np.testing.assert_array_equal(chunked[1], whole[1])
    np.testing.assert_allclose(chunked[0], whole[0])
    assert seen == [start / 50 for start in range(0, 50, 7)]


def test_restricted_graph_drops_deleted_rows_and_renumbers_the_rest() -> None:
    x, _ = _clustered(300)
    graph = NeighbourGraph.build(x, 16)
    keep = np.random.default_rng(1).random(300) > 0.2  # a fifth of the images deleted
    narrowed = graph.restricted(keep)
    assert (narrowed.n, narrowed.k) == (int(keep.sum()), 16)
    found = narrowed.rows >= 0
    assert (narrowed.rows < narrowed.n).all()
    # Missing neighbours come last, and a row's survivors keep their order and scores.
    assert (np.diff(found.astype(np.int8), axis=1) <= 0).all()
    renumbered = np.flatnonzero(keep)
    for row, original in zip(range(narrowed.n), renumbered, strict=True):
        survivors = [r for r in graph.rows[original] if keep[r]]
        assert list(renumbered[narrowed.rows[row][found[row]]]) == survivors
    # Where ten survived they are exactly the ten nearest among the kept images.
    exact_scores, exact_rows = knn_graph(x[keep], 10)
    full = found[:, 9]
    assert full.mean() > 0.9
    np.testing.assert_array_equal(narrowed.rows[full, :10], exact_rows[full])
    np.testing.assert_allclose(narrowed.scores[full, :10], exact_scores[full], rtol=1e-5)
    with pytest.raises(ValueError, match="bool array of shape"):
        graph.restricted(np.ones(299, bool))


@pytest.mark.parametrize("share", [0.03, 0.5, 0.97])
def test_neighbours_within_a_subset_equal_a_graph_built_on_it(share: float) -> None:
    x, _ = _clustered(400, seed=2)
    keep = np.random.default_rng(3).random(400) < share
    within = neighbours_within(NeighbourGraph.build(x, 16), x, keep, 10)
    scores, rows = knn_graph(x[keep], 10)
    np.testing.assert_array_equal(within.rows, rows)
    np.testing.assert_allclose(within.scores, scores, rtol=1e-5)


def test_neighbours_within_a_tiny_subset_and_bad_input() -> None:
    x, _ = _clustered(30)
    graph = NeighbourGraph.build(x, 4)
    one = np.zeros(30, bool)
    one[5] = True
    assert neighbours_within(graph, x, one, 10).rows.shape == (1, 0)
    # More neighbours asked than the graph holds: searched among the subset.
    keep = np.arange(30) % 2 == 0
    np.testing.assert_array_equal(neighbours_within(graph, x, keep, 6).rows, knn_graph(x[keep], 6)[1])
    with pytest.raises(ValueError, match="30 rows but there are 29"):
        neighbours_within(graph, x[:29], keep[:29], 3)
    with pytest.raises(ValueError, match="k must be"):
        neighbours_within(graph, x, keep, 0)


def test_review_aids_answer_the_same_from_the_stored_graph() -> None:
    x, cluster = _clustered(240, dim=16, centres=3, seed=4)
    labels = np.full(240, -1, np.int64)
    labeled = np.random.default_rng(5).choice(240, 60, replace=False)
    labels[labeled] = cluster[labeled]
    labels[labeled[:3]] = (cluster[labeled[:3]] + 1) % 3  # three wrong labels
    graph = NeighbourGraph.build(x)
    for built, stored in zip(propagate_labels(x, labels), propagate_labels(x, labels, graph=graph), strict=True):
        np.testing.assert_allclose(stored, built, atol=1e-6)
    assert suspected_mislabels(x, labels, graph=graph) == suspected_mislabels(x, labels)
    copies = np.concatenate([x, x[:4] + 0.001])
    copies /= np.linalg.norm(copies, axis=1, keepdims=True)
    ids = np.arange(1000, 1244)
    groups = near_duplicate_groups(copies, ids, 0.99)
    assert len(groups) >= 4
    assert near_duplicate_groups(copies, ids, 0.99, graph=NeighbourGraph.build(copies)) == groups
    assert calibrate_ood(x, graph=graph) == calibrate_ood(x)
    with pytest.raises(ValueError, match="240 rows but there are 239"):
        propagate_labels(x[:239], labels[:239], graph=graph)


def test_model_store_reads_the_stored_graph_and_builds_one_for_older_backbones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABELLIGHT_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        x, _ = _clustered(60)
        ids = np.arange(100, 160, dtype=np.int64)
        storage = get_settings().storage_dir
        vectors_path = storage / embeddings_key(7, 1)
        graph_path = storage / neighbour_graph_key(7, 1)
        vectors_path.parent.mkdir(parents=True)
        np.savez(vectors_path, ids=ids, vectors=x)
        backbone = Backbone(project_id=7, version=1)
        built = NeighbourGraph.build(x)

        # Embedded before graphs were stored: built once and kept.
        first = neighbour_graph(backbone)
        np.testing.assert_array_equal(first.rows, built.rows)
        assert neighbour_graph(backbone) is first

        # The embed job's graph is read as stored (here a recognisable fake one).
        stored = NeighbourGraph(np.ones((60, 3), np.float32), np.tile(np.array([1, 2, -1]), (60, 1)))
        np.savez(graph_path, ids=ids, scores=stored.scores, rows=stored.rows)
        np.testing.assert_array_equal(neighbour_graph(backbone).rows, stored.rows)

        # A graph of other ids than the embeddings' (a re-embed between its two writes) is not used.
        np.savez(graph_path, ids=ids + 1, scores=stored.scores, rows=stored.rows)
        np.testing.assert_array_equal(neighbour_graph(backbone).rows, built.rows)
    finally:
        get_settings.cache_clear()
