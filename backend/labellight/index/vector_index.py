"""Exact cosine-similarity search over embeddings keyed by our int64 ids (FAISS).

``IndexIDMap2`` over ``IndexFlatIP``: rows are L2-normalised, so the inner product is the cosine
similarity and ``search`` returns scores in [-1, 1], best first. Not thread-safe for concurrent
writes: callers build a new index and swap it in.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from labellight.ml.atomic_file import atomic_path


def _as_vectors(vectors: np.ndarray, dim: int | None = None) -> np.ndarray:
    if vectors.ndim != 2 or not np.issubdtype(vectors.dtype, np.floating):
        raise ValueError(f"vectors must be a float array (N, D), got {vectors.dtype} {vectors.shape}")
    if dim is not None and vectors.shape[1] != dim:
        raise ValueError(f"vectors have dimension {vectors.shape[1]}, the index has {dim}")
    return np.ascontiguousarray(vectors, dtype=np.float32)


def _as_ids(ids: np.ndarray, n: int | None = None) -> np.ndarray:
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be an integer array (N,), got {ids.dtype} {ids.shape}")
    if n is not None and ids.shape[0] != n:
        raise ValueError(f"got {n} vectors but {ids.shape[0]} ids")
    if (ids < 0).any():
        raise ValueError("ids must be >= 0 (-1 marks a missing result)")
    return np.ascontiguousarray(ids, dtype=np.int64)


class VectorIndex:
    """A flat inner-product index whose results are our ids (vectors should be unit-norm)."""

    def __init__(self, dim: int) -> None:
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray) -> VectorIndex:
        """Index ``vectors`` (N, D) float32 under ``ids`` (N,) int64."""
        vectors = _as_vectors(vectors)
        index = cls(vectors.shape[1])
        index.add(vectors, ids)
        return index

    @property
    def ntotal(self) -> int:
        """Number of indexed vectors."""
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        """Vector dimension D."""
        return int(self._index.d)

    def ids(self) -> np.ndarray:
        """All indexed ids (ntotal,) int64, in insertion order."""
        return faiss.vector_to_array(self._index.id_map).astype(np.int64, copy=False)

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add ``vectors`` (N, D) under new, distinct ``ids`` (N,); an id already present is an error."""
        vectors = _as_vectors(vectors, self.dim)
        ids = _as_ids(ids, vectors.shape[0])
        if np.unique(ids).shape[0] != ids.shape[0]:
            raise ValueError("ids must be distinct")
        if self.ntotal and np.isin(ids, self.ids()).any():
            raise ValueError("some ids are already in the index; remove them first")
        if ids.shape[0]:
            self._index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> int:
        """Remove the vectors stored under ``ids``; unknown ids are ignored. Returns how many went."""
        ids = _as_ids(np.asarray(ids))
        if ids.shape[0] == 0:
            return 0
        return int(self._index.remove_ids(ids))  # type: ignore[arg-type]  # faiss's wrapper takes arrays

    def reconstruct(self, id_: int) -> np.ndarray:
        """The stored vector (D,) of one id; KeyError when it is not indexed."""
        if id_ < 0 or not np.isin(id_, self.ids()):
            raise KeyError(id_)
        return np.asarray(self._index.reconstruct(int(id_)), dtype=np.float32)

    def search(self, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k most similar vectors for each query in ``x`` (Q, D).

        Returns (D, I): scores (Q, k') float32, best first, and ids (Q, k') int64 with
        k' = min(k, ntotal); an id of -1 marks "no result" (callers filter it).
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        x = _as_vectors(x, self.dim)
        k = min(k, self.ntotal)
        if k == 0:
            return np.empty((x.shape[0], 0), np.float32), np.empty((x.shape[0], 0), np.int64)
        scores, ids = self._index.search(x, k)
        return scores.astype(np.float32, copy=False), ids.astype(np.int64, copy=False)

    def save(self, path: Path) -> None:
        """Write the index to ``path`` atomically (readers see the old or the new file)."""
        with atomic_path(Path(path)) as tmp:
            faiss.write_index(self._index, str(tmp))

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        """Read an index written by :meth:`save`."""
        index = faiss.read_index(str(Path(path)))
        if not isinstance(index, faiss.IndexIDMap2):
            raise ValueError(f"{path} does not hold an IndexIDMap2")
        loaded = cls.__new__(cls)
        loaded._index = index
        return loaded
