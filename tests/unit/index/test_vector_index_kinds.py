"""Every index kind (exact, IVF, IVF with 8-bit codes): true neighbours, removal, save/load, recall."""

from pathlib import Path

import numpy as np
import pytest

from labellight.index.vector_index import INDEX_KINDS, IndexKind, VectorIndex, kind_for_size


def _separated(n_groups: int, per_group: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Tight groups of ``per_group`` unit vectors around random centres (far apart in ``dim``-d)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_groups, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = np.repeat(centres, per_group, axis=0) + rng.normal(scale=0.01, size=(n_groups * per_group, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), centres.astype(np.float32)


def _clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, dim))
    x = (centres[rng.integers(0, 50, n)] + rng.normal(scale=0.7, size=(n, dim))).astype(np.float32)
    unit: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return unit


@pytest.mark.parametrize("kind", INDEX_KINDS)
def test_each_kind_finds_the_true_neighbours_of_separated_groups(kind: IndexKind) -> None:
    vectors, centres = _separated(400, 5, 64, seed=0)
    ids = np.arange(10_000, 12_000, dtype=np.int64)
    index = VectorIndex.build(vectors, ids, kind)
    assert index.kind == kind
    scores, found = index.search(centres, 5)
    for group, row in enumerate(found):
        assert set(row) == set(ids[group * 5:(group + 1) * 5])
    assert (scores > 0.99).all()


@pytest.mark.parametrize("kind", INDEX_KINDS)
def test_each_kind_removes_ids_and_survives_save_load(kind: IndexKind, tmp_path: Path) -> None:
    vectors, centres = _separated(400, 5, 64, seed=1)
    ids = np.arange(2000, dtype=np.int64) * 7
    index = VectorIndex.build(vectors, ids, kind)
    gone = ids[:5]  # the whole first group
    assert index.remove(np.append(gone, [3])) == 5
    assert index.ntotal == 1995
    assert not np.isin(index.ids(), gone).any()
    _, found = index.search(centres[:1], 5)
    assert not np.isin(found, gone).any()
    path = tmp_path / f"{kind}.faiss"
    index.save(path)
    loaded = VectorIndex.load(path)
    assert (loaded.kind, loaded.ntotal) == (kind, 1995)
    for a, b in zip(index.search(centres, 5), loaded.search(centres, 5), strict=True):
        np.testing.assert_array_equal(a, b)
    assert loaded.remove(ids[5:10]) == 5
    assert not np.isin(loaded.search(centres[1:2], 5)[1], ids[5:10]).any()
    np.testing.assert_allclose(loaded.reconstruct(int(ids[10])), vectors[10], atol=0.02)


@pytest.mark.parametrize("kind", ["ivf", "ivf_sq8"])
def test_recall_at_10_of_the_approximate_kinds_against_exact(kind: IndexKind) -> None:
    vectors, queries = _clustered(20_000, 32, seed=0), _clustered(300, 32, seed=1)
    ids = np.arange(20_000, dtype=np.int64)
    _, exact = VectorIndex.build(vectors, ids, "exact").search(queries, 10)
    _, found = VectorIndex.build(vectors, ids, kind).search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)])
    assert recall >= 0.9, f"{kind} recall@10 {recall:.3f}"


def test_kind_for_size_and_auto_build() -> None:
    assert kind_for_size(49_999) == "exact"
    assert kind_for_size(50_000) == "ivf"
    assert kind_for_size(499_999) == "ivf"
    assert kind_for_size(500_000) == "ivf_sq8"
    vectors, _ = _separated(60, 5, 16, seed=2)
    auto = VectorIndex.build(vectors, np.arange(300), exact_below=100, compressed_from=200)
    assert auto.kind == "ivf_sq8"
    assert VectorIndex.build(vectors, np.arange(300), exact_below=100).kind == "ivf"
