from pathlib import Path

import numpy as np
import pytest

from labellight.index.vector_index import VectorIndex


def _unit(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    unit: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return unit


def _exact(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return ids[np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k]]


def test_search_returns_same_ids_as_exact_numpy_search() -> None:
    vectors, queries = _unit(200), _unit(10, seed=1)
    ids = np.arange(1000, 1200, dtype=np.int64)[::-1].copy()
    index = VectorIndex.build(vectors, ids)
    scores, found = index.search(queries, 5)
    assert scores.shape == found.shape == (10, 5)
    assert scores.dtype == np.float32
    assert found.dtype == np.int64
    np.testing.assert_array_equal(found, _exact(vectors, ids, queries, 5))
    np.testing.assert_allclose(scores[:, 0], (queries @ vectors.T).max(axis=1), rtol=1e-5)
    assert (np.diff(scores, axis=1) <= 1e-6).all()
    assert (index.ntotal, index.dim) == (200, 8)


def test_k_is_clipped_to_ntotal_and_empty_index_returns_nothing() -> None:
    index = VectorIndex.build(_unit(3), np.array([7, 8, 9]))
    _scores, found = index.search(_unit(2, seed=1), 10)
    assert found.shape == (2, 3)
    assert set(found[0]) == {7, 8, 9}
    empty = VectorIndex(8)
    assert empty.search(_unit(2), 4)[1].shape == (2, 0)


def test_remove_and_add() -> None:
    vectors = _unit(50)
    ids = np.arange(50, dtype=np.int64)
    index = VectorIndex.build(vectors, ids)
    assert index.remove(np.array([3, 4, 999])) == 2
    assert index.ntotal == 48
    _, found = index.search(vectors[[3, 4]], 48)
    assert not np.isin(found, [3, 4]).any()
    index.add(vectors[[3]], np.array([3]))
    assert index.search(vectors[[3]], 1)[1][0, 0] == 3
    np.testing.assert_allclose(index.reconstruct(3), vectors[3])
    with pytest.raises(ValueError, match="already"):
        index.add(vectors[[5]], np.array([5]))
    with pytest.raises(KeyError):
        index.reconstruct(4)


def test_save_load_round_trip(tmp_path: Path) -> None:
    vectors, queries = _unit(30), _unit(4, seed=2)
    index = VectorIndex.build(vectors, np.arange(100, 130))
    path = tmp_path / "nested" / "index.faiss"
    index.save(path)
    loaded = VectorIndex.load(path)
    assert loaded.ntotal == 30
    assert loaded.dim == 8
    for a, b in zip(index.search(queries, 6), loaded.search(queries, 6), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.ids(), np.arange(100, 130))
    assert [p.name for p in path.parent.iterdir()] == ["index.faiss"]


@pytest.mark.parametrize(
    ("vectors", "ids"),
    [
        (np.zeros((3, 8), np.int32), np.arange(3)),  # integer vectors
        (np.zeros(8, np.float32), np.arange(1)),  # not 2-D
        (np.zeros((3, 8), np.float32), np.arange(2)),  # count mismatch
        (np.zeros((3, 8), np.float32), np.array([1.0, 2.0, 3.0])),  # float ids
        (np.zeros((2, 8), np.float32), np.array([1, 1])),  # duplicate ids
        (np.zeros((1, 8), np.float32), np.array([-1])),  # reserved id
    ],
)
def test_invalid_inputs_are_rejected(vectors: np.ndarray, ids: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"vectors|ids"):
        VectorIndex(8).add(vectors, ids)


def test_query_dimension_and_k_are_validated() -> None:
    index = VectorIndex.build(_unit(5), np.arange(5))
    with pytest.raises(ValueError, match="dimension"):
        index.search(_unit(2, dim=4), 1)
    with pytest.raises(ValueError, match="k must be"):
        index.search(_unit(2), 0)


def _clustered(n: int, dim: int, n_clusters: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, dim))
    x = (centres[rng.integers(0, n_clusters, n)] + rng.normal(scale=0.7, size=(n, dim))).astype(np.float32)
    unit: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return unit


def test_auto_kind_follows_size() -> None:
    vectors = _unit(300)
    assert VectorIndex.build(vectors, np.arange(300)).kind == "exact"
    assert VectorIndex.build(vectors, np.arange(300), exact_below=100).kind == "ivf"
    assert VectorIndex.build(vectors, np.arange(300), kind="ivf").kind == "ivf"
    with pytest.raises(ValueError, match="kind"):
        VectorIndex.build(vectors, np.arange(300), kind="hnsw")  # type: ignore[arg-type]


def test_ivf_recall_at_10_against_exact_search() -> None:
    vectors, queries = _clustered(20_000, 32, 50, seed=0), _clustered(500, 32, 50, seed=0)
    ids = np.arange(5, 20_005, dtype=np.int64)
    index = VectorIndex.build(vectors, ids, exact_below=10_000)
    assert index.kind == "ivf"
    _, found = index.search(queries, 10)
    _, exact = VectorIndex.build(vectors, ids).search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)])
    assert recall >= 0.95


def test_ivf_remove_add_reconstruct_and_save_load_keep_kind(tmp_path: Path) -> None:
    vectors = _unit(400, dim=16)
    ids = np.arange(1000, 1400, dtype=np.int64)
    index = VectorIndex.build(vectors, ids, kind="ivf", nprobe=1000)  # every cell: exact answers
    assert index.remove(np.array([1003, 1004, 7])) == 2
    assert index.ntotal == 398
    _, found = index.search(vectors[[3, 4]], 398)
    assert not np.isin(found, [1003, 1004]).any()
    index.add(vectors[[3]], np.array([1003]))
    assert index.search(vectors[[3]], 1)[1][0, 0] == 1003
    np.testing.assert_allclose(index.reconstruct(1003), vectors[3])
    with pytest.raises(KeyError):
        index.reconstruct(1004)
    with pytest.raises(ValueError, match="already"):
        index.add(vectors[[5]], np.array([1005]))
    stored_ids, stored = index.reconstruct_all()
    np.testing.assert_array_equal(stored_ids, np.setdiff1d(ids, [1004]))
    np.testing.assert_allclose(stored, vectors[stored_ids - 1000])
    path = tmp_path / "ivf.faiss"
    index.save(path)
    loaded = VectorIndex.load(path)
    assert (loaded.kind, loaded.ntotal) == ("ivf", 399)
    for a, b in zip(index.search(vectors[:5], 4), loaded.search(vectors[:5], 4), strict=True):
        np.testing.assert_array_equal(a, b)
    assert loaded.remove(np.array([1000])) == 1
