"""Cosine-similarity search over embeddings keyed by our int64 ids (FAISS), exact or approximate.

Rows are L2-normalised, so the inner product is the cosine similarity and ``search`` returns
scores in [-1, 1], best first. Three kinds, chosen by size (``kind="auto"``):

- ``"exact"``: ``IndexIDMap2`` over ``IndexFlatIP``; brute force, below ``EXACT_BELOW`` vectors.
- ``"ivf"``: ``IndexIVFFlat`` with inner product (Jégou et al. 2011, the FAISS inverted file):
  k-means into nlist ~ 2 sqrt(N) cells, a query scans its ``nprobe`` nearest cells. IVF rather than
  HNSW because it takes our ids natively and supports ``remove_ids`` (through a hash-table direct
  map), so deleting an image needs no tombstones nor rebuild, and it trains and fills in seconds on
  a small CPU. Vectors added later go to their nearest existing cell; the cells are not re-trained
  (the index is rebuilt when a new backbone re-embeds the project).
- ``"ivf_sq8"``: the same inverted file storing each vector's residual to its cell centre as one byte
  per dimension (``IndexIVFScalarQuantizer``, 8-bit), from ``COMPRESSED_FROM`` vectors: a quarter of
  the memory of float32 (1.3 GB instead of 5.1 GB at 1M x 1280-d) with recall@10 ~ 0.97. Product
  quantisation (IVF-PQ) compresses further but measured recall@10 0.51 / 0.83 at 32 / 64 bytes per
  128-d vector (100k clustered vectors, nprobe 32), below what search and the review aids need;
  FAISS's re-ranked IVF-PQ (``IndexIVFPQR``) cannot hold arbitrary ids. docs/scale.md has the figures.

Not thread-safe for concurrent writes: callers build a new index and swap it in.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np

from labellight.common.atomic_file import atomic_path
from labellight.index.faiss_threads import use_faiss_threads

IndexKind = Literal["exact", "ivf", "ivf_sq8"]
INDEX_KINDS: tuple[IndexKind, ...] = ("exact", "ivf", "ivf_sq8")
# Brute force answers a query over 50k x 512-d in a few ms; above, the IVF index scans ~3% of it.
EXACT_BELOW = 50_000
# Cells scanned per query: recall@10 >= 0.99 on clustered data at nlist = 2 sqrt(N) (20k to 100k,
# tests and benchmarks/selection_speed.py).
DEFAULT_NPROBE = 32
# From here on the vectors are stored as bytes: 1M x 512-d float32 alone would be 2 GB.
COMPRESSED_FROM = 500_000
# Training the cells: k-means on this many points per cell (FAISS: 256), for this many iterations
# (FAISS: 25). The quantizer only routes queries, so a rougher one costs little recall.
_TRAINING_POINTS_PER_CELL = 64
_TRAINING_ITERATIONS = 10
# The 8-bit codes' per-dimension ranges want a sample of their own size even when there are few cells.
_MIN_TRAINING_POINTS = 20_000


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


def _training_sample(vectors: np.ndarray, nlist: int) -> np.ndarray:
    """The rows the cells (and the byte codes' ranges) are trained on: FAISS would subsample the cells'
    k-means anyway; taking the sample here also bounds the scalar quantizer's training and its copy."""
    n = vectors.shape[0]
    wanted = max(nlist * _TRAINING_POINTS_PER_CELL, _MIN_TRAINING_POINTS)
    if n <= wanted:
        return vectors
    rows = np.sort(np.random.default_rng(0).choice(n, wanted, replace=False))
    return vectors[rows]


def _ivf(vectors: np.ndarray, nprobe: int, kind: IndexKind) -> Any:
    """An empty IVF index (flat or 8-bit codes) whose cells are trained on ``vectors`` (N, D)."""
    n, dim = vectors.shape
    nlist = max(1, min(n, round(2 * math.sqrt(n))))
    quantizer = faiss.IndexFlatIP(dim)
    index: Any
    if kind == "ivf_sq8":
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
    else:
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.min_points_per_centroid = 1  # silence FAISS's "too few points" notice on small builds
    index.cp.max_points_per_centroid = _TRAINING_POINTS_PER_CELL
    index.cp.niter = _TRAINING_ITERATIONS
    index.cp.seed = 0
    index.train(_training_sample(vectors, nlist))
    # A hash-table direct map lets reconstruct and remove_ids work with our (sparse) ids. FAISS's
    # bundled stubs omit the DirectMap enum.
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
    index.nprobe = nprobe
    return index


class VectorIndex:
    """An inner-product index whose results are our ids (vectors should be unit-norm)."""

    def __init__(self, dim: int) -> None:
        """An empty exact index of dimension ``dim`` (the IVF kinds are made by :meth:`build`)."""
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self._index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._kind: IndexKind = "exact"

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        ids: np.ndarray,
        kind: IndexKind | Literal["auto"] = "auto",
        *,
        exact_below: int = EXACT_BELOW,
        compressed_from: int = COMPRESSED_FROM,
        nprobe: int = DEFAULT_NPROBE,
    ) -> VectorIndex:
        """Index ``vectors`` (N, D) float32 under ``ids`` (N,) int64.

        ``kind="auto"`` (:func:`kind_for_size`): exact below ``exact_below`` vectors, IVF from there,
        IVF with 8-bit codes from ``compressed_from``.
        """
        use_faiss_threads()
        vectors = _as_vectors(vectors)
        if kind == "auto":
            kind = kind_for_size(vectors.shape[0], exact_below=exact_below, compressed_from=compressed_from)
        if kind not in INDEX_KINDS:
            raise ValueError(f"kind must be 'auto' or one of {', '.join(INDEX_KINDS)}, got {kind!r}")
        if nprobe < 1:
            raise ValueError(f"nprobe must be >= 1, got {nprobe}")
        index = cls(vectors.shape[1])
        if kind != "exact" and vectors.shape[0] > 0:
            index._index, index._kind = _ivf(vectors, nprobe, kind), kind
        index.add(vectors, ids)
        return index

    @property
    def kind(self) -> IndexKind:
        """``"exact"``, ``"ivf"`` or ``"ivf_sq8"``."""
        return self._kind

    @property
    def ntotal(self) -> int:
        """Number of indexed vectors."""
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        """Vector dimension D."""
        return int(self._index.d)

    def ids(self) -> np.ndarray:
        """All indexed ids (ntotal,) int64: insertion order (exact), ascending (IVF kinds)."""
        if self._kind == "exact":
            return faiss.vector_to_array(self._index.id_map).astype(np.int64, copy=False)
        lists = self._index.invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(cell), lists.list_size(cell)).copy()
            for cell in range(lists.nlist)
            if lists.list_size(cell)
        ]
        return np.sort(np.concatenate(parts)).astype(np.int64) if parts else np.empty(0, np.int64)

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
        if ids.shape[0] == 0 or self.ntotal == 0:
            return 0
        return int(self._index.remove_ids(ids))

    def reconstruct(self, id_: int) -> np.ndarray:
        """The stored vector (D,) of one id (decoded from its bytes for ``"ivf_sq8"``, within ~1% of
        the original); KeyError when it is not indexed."""
        if id_ < 0 or not np.isin(id_, self.ids()):
            raise KeyError(id_)
        return np.asarray(self._index.reconstruct(int(id_)), dtype=np.float32)

    def reconstruct_all(self) -> tuple[np.ndarray, np.ndarray]:
        """Every stored entry: (ids (ntotal,) int64 as :meth:`ids`, vectors (ntotal, D) float32)."""
        ids = self.ids()
        if ids.shape[0] == 0:
            return ids, np.empty((0, self.dim), np.float32)
        if self._kind == "exact":
            return ids, np.asarray(self._index.index.reconstruct_n(0, self.ntotal), dtype=np.float32)
        return ids, np.asarray(self._index.reconstruct_batch(ids), dtype=np.float32)

    def search(self, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k most similar vectors for each query in ``x`` (Q, D).

        Returns (D, I): scores (Q, k') float32, best first, and ids (Q, k') int64 with
        k' = min(k, ntotal); an id of -1 marks "no result" (callers filter it). IVF results are
        approximate: a true neighbour outside the ``nprobe`` scanned cells is missed.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        use_faiss_threads()
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
        """Read an index written by :meth:`save`; it keeps its kind (and the IVF kinds their nprobe)."""
        index = faiss.read_index(str(Path(path)))
        loaded = cls.__new__(cls)
        loaded._index = index
        if isinstance(index, faiss.IndexIDMap2):
            loaded._kind = "exact"
        elif isinstance(index, faiss.IndexIVFFlat):
            loaded._kind = "ivf"
        elif isinstance(index, faiss.IndexIVFScalarQuantizer):
            loaded._kind = "ivf_sq8"
        else:
            raise ValueError(f"{path} holds none of IndexIDMap2, IndexIVFFlat, IndexIVFScalarQuantizer")
        return loaded


def kind_for_size(
    n: int, *, exact_below: int = EXACT_BELOW, compressed_from: int = COMPRESSED_FROM
) -> IndexKind:
    """The index kind ``build(kind="auto")`` makes for ``n`` vectors."""
    if n < exact_below:
        return "exact"
    return "ivf" if n < compressed_from else "ivf_sq8"
