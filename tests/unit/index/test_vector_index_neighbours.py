import numpy as np
import pytest

from labellight.curation.near_duplicates import near_duplicate_groups
from labellight.index.neighbour_graph import knn_graph
from labellight.index.vector_index import VectorIndex


def _unit(x: np.ndarray) -> np.ndarray:
    unit: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return unit


def test_knn_graph_excludes_self_even_with_exact_duplicates() -> None:
    x = _unit(np.random.default_rng(0).normal(size=(20, 8)))
    x[1] = x[0]
    scores, rows = knn_graph(x, 3)
    assert rows.shape == scores.shape == (20, 3)
    assert not (rows == np.arange(20)[:, None]).any()
    assert rows[0, 0] == 1
    assert rows[1, 0] == 0
    others = x @ x.T - 10 * np.eye(20)
    np.testing.assert_allclose(scores, -np.sort(-others, axis=1)[:, :3], rtol=1e-5)
    np.testing.assert_allclose(np.take_along_axis(others, rows, axis=1), scores, rtol=1e-5)
    assert knn_graph(x[:1], 3)[1].shape == (1, 0)


def test_near_duplicate_groups_are_connected_components_above_threshold() -> None:
    rng = np.random.default_rng(1)
    base = _unit(rng.normal(size=(30, 16)))
    # ids 100..129 are distinct images; 200.. are copies: two of 100 (one a copy of a copy), one of 107.
    copies = _unit(base[[0, 0, 7]] + rng.normal(scale=0.01, size=(3, 16)))
    copies[1] = _unit(copies[[0]] + rng.normal(scale=0.01, size=(1, 16)))[0]
    vectors = np.concatenate([base, copies])
    ids = np.concatenate([np.arange(100, 130), [200, 201, 202]])
    expected = [[100, 200, 201], [107, 202]]
    assert near_duplicate_groups(vectors, ids, threshold=0.98) == expected
    assert near_duplicate_groups(VectorIndex.build(vectors, ids), threshold=0.98) == expected
    assert near_duplicate_groups(vectors, ids, threshold=0.99999) == []
    with pytest.raises(ValueError, match="ids"):
        near_duplicate_groups(vectors)
    with pytest.raises(ValueError, match="threshold"):
        near_duplicate_groups(vectors, ids, threshold=1.5)
