"""The embed job's files (embeddings, map, kNN graph): what is written is what is read back."""

from pathlib import Path

import numpy as np

from labellight.index.embedding_files import (
    Embeddings,
    load_embeddings,
    load_graph,
    load_map,
    save_embeddings,
    save_graph,
    save_map,
)
from labellight.index.neighbour_graph import NeighbourGraph


def _vectors(n: int) -> np.ndarray:
    x = np.random.default_rng(0).normal(size=(n, 8)).astype(np.float32)
    unit: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return unit


def test_embeddings_round_trip_with_their_threshold(tmp_path: Path) -> None:
    ids = np.array([3, 5, 9], dtype=np.int64)
    save_embeddings(tmp_path / "e.npz", Embeddings(ids, _vectors(3), ood_threshold=0.25))
    back = load_embeddings(tmp_path / "e.npz")
    np.testing.assert_array_equal(back.ids, ids)
    np.testing.assert_array_equal(back.vectors, _vectors(3))
    assert back.ood_threshold == 0.25


def test_embeddings_without_a_threshold_read_as_never_out_of_distribution(tmp_path: Path) -> None:
    np.savez(tmp_path / "old.npz", ids=np.arange(2), vectors=_vectors(2))
    assert load_embeddings(tmp_path / "old.npz").ood_threshold == float("inf")


def test_the_map_round_trips(tmp_path: Path) -> None:
    ids, xy = np.arange(4), np.random.default_rng(1).random((4, 2)).astype(np.float32)
    save_map(tmp_path / "m.npz", ids, xy)
    back_ids, back_xy = load_map(tmp_path / "m.npz")
    np.testing.assert_array_equal(back_ids, ids)
    np.testing.assert_array_equal(back_xy, xy)


def test_the_graph_is_read_back_only_for_the_ids_it_was_built_on(tmp_path: Path) -> None:
    ids, vectors = np.arange(20), _vectors(20)
    graph = NeighbourGraph.build(vectors)
    save_graph(tmp_path / "g.npz", ids, graph)
    back = load_graph(tmp_path / "g.npz", ids)
    assert back is not None
    np.testing.assert_array_equal(back.rows, graph.rows)
    np.testing.assert_array_equal(back.scores, graph.scores)
    assert load_graph(tmp_path / "g.npz", np.arange(1, 21)) is None
