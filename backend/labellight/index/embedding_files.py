"""The files the embed job writes for each backbone version and the API reads back: the embeddings (with
their out-of-distribution threshold), the 2-D map and the kNN graph. Each format is written and read here
only: plain ``.npz`` arrays (no pickle), written atomically."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from labellight.common.atomic_file import atomic_path
from labellight.index.neighbour_graph import NeighbourGraph


@dataclass(frozen=True)
class Embeddings:
    """L2-normalised embeddings of a project's images under one backbone; ``ids`` are image ids."""

    ids: np.ndarray
    vectors: np.ndarray
    ood_threshold: float = float("inf")
    """Nearest-neighbour distance beyond which a query is out of distribution (see curation.ood)."""

    def restricted_to(self, image_ids: Iterable[int]) -> Embeddings:
        """Only the rows of ``image_ids`` (e.g. the images that still exist)."""
        keep = self.kept(image_ids)
        return Embeddings(self.ids[keep], self.vectors[keep], self.ood_threshold)

    def kept(self, image_ids: Iterable[int]) -> np.ndarray:
        """(N,) bool: which rows :meth:`restricted_to` keeps for ``image_ids``."""
        keep: np.ndarray = np.isin(self.ids, np.fromiter(image_ids, dtype=np.int64))
        return keep

    @cached_property
    def _sorted(self) -> tuple[np.ndarray, np.ndarray]:
        """(order, ids[order]): sorted once per loaded file, not per request (80 ms at 1M images)."""
        order = np.argsort(self.ids, kind="stable")
        return order, self.ids[order]

    def rows_of(self, image_ids: np.ndarray) -> np.ndarray:
        """Row of each image id, -1 where the image has no embedding yet."""
        if len(self.ids) == 0:
            return np.full(len(image_ids), -1, dtype=np.int64)
        order, sorted_ids = self._sorted
        pos = np.minimum(np.searchsorted(sorted_ids, image_ids), len(sorted_ids) - 1)
        return np.where(sorted_ids[pos] == image_ids, order[pos], -1)


def save_embeddings(path: Path, embeddings: Embeddings) -> None:
    _save_arrays(path, ids=embeddings.ids, vectors=embeddings.vectors,
                 ood_threshold=np.array(embeddings.ood_threshold, dtype=np.float64))


def load_embeddings(path: Path) -> Embeddings:
    with np.load(path, allow_pickle=False) as data:
        threshold = float(data["ood_threshold"]) if "ood_threshold" in data else float("inf")
        return Embeddings(ids=data["ids"], vectors=data["vectors"], ood_threshold=threshold)


def save_map(path: Path, ids: np.ndarray, xy: np.ndarray) -> None:
    """The 2-D map: ``xy`` (N, 2) in [0, 1] for image ``ids`` (N,)."""
    _save_arrays(path, ids=ids, xy=xy)


def load_map(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(image ids, xy) as :func:`save_map` wrote them."""
    with np.load(path, allow_pickle=False) as data:
        return data["ids"], data["xy"]


def save_graph(path: Path, ids: np.ndarray, graph: NeighbourGraph) -> None:
    """The kNN graph over the rows of the embeddings of ``ids``, stored with those ids: a reader pairs it
    with embeddings of the same ids only."""
    _save_arrays(path, ids=ids, scores=graph.scores, rows=graph.rows)


def load_graph(path: Path, ids: np.ndarray) -> NeighbourGraph | None:
    """The graph stored at ``path`` when it was built on embeddings of exactly ``ids``, else None."""
    with np.load(path, allow_pickle=False) as data:
        if np.array_equal(data["ids"], ids):
            return NeighbourGraph(scores=data["scores"], rows=data["rows"])
    return None


def _save_arrays(path: Path, **arrays: np.ndarray) -> None:
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle
