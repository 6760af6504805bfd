"""Loading a project's model files: backbones, heads, embeddings and indexes, cached per version."""

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from labellight.db.models import Backbone, Classifier
from labellight.index.vector_index import VectorIndex
from labellight.ml.backbones import build_backbone
from labellight.ml.checkpoint import load_state_dict
from labellight.ml.classifier import LinearHead
from labellight.storage import get_storage
from labellight.storage.keys import backbone_weights_key, classifier_key, embeddings_key, index_key, map_key

_lock = threading.Lock()


@dataclass(frozen=True)
class Embeddings:
    """L2-normalised embeddings of a project's images under one backbone; ``ids`` are image ids."""

    ids: np.ndarray
    vectors: np.ndarray
    ood_threshold: float = float("inf")
    """Nearest-neighbour distance beyond which a query is out of distribution (see ml.ood)."""

    def restricted_to(self, image_ids: Iterable[int]) -> "Embeddings":
        """Only the rows of ``image_ids`` (e.g. the images that still exist)."""
        wanted = np.fromiter(image_ids, dtype=np.int64)
        keep = np.isin(self.ids, wanted)
        return Embeddings(self.ids[keep], self.vectors[keep], self.ood_threshold)

    def rows_of(self, image_ids: np.ndarray) -> np.ndarray:
        """Row of each image id, -1 where the image has no embedding yet."""
        if len(self.ids) == 0:
            return np.full(len(image_ids), -1, dtype=np.int64)
        order = np.argsort(self.ids)
        sorted_ids = self.ids[order]
        pos = np.minimum(np.searchsorted(sorted_ids, image_ids), len(sorted_ids) - 1)
        return np.where(sorted_ids[pos] == image_ids, order[pos], -1)


def backbone_module(backbone: Backbone) -> torch.nn.Module:
    return _backbone_module(backbone.project_id, backbone.version, backbone.config["backbone"],
                            bool(backbone.config.get("small_images", True)))


@lru_cache(maxsize=8)
def _backbone_module(project_id: int, version: int, name: str, small_images: bool) -> torch.nn.Module:
    module, _ = build_backbone(name, small_images=small_images)
    module.load_state_dict(load_state_dict(get_storage().path(backbone_weights_key(project_id, version))))
    return module.eval()


def embeddings(backbone: Backbone) -> Embeddings:
    path = get_storage().path(embeddings_key(backbone.project_id, backbone.version))
    return _embeddings(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _embeddings(path: str, _mtime: int) -> Embeddings:
    with np.load(path, allow_pickle=False) as data:
        threshold = float(data["ood_threshold"]) if "ood_threshold" in data else float("inf")
        return Embeddings(ids=data["ids"], vectors=data["vectors"], ood_threshold=threshold)


def embedding_map(backbone: Backbone) -> tuple[np.ndarray, np.ndarray]:
    """(image ids, xy in [0, 1]) of the backbone's 2-D map."""
    path = get_storage().path(map_key(backbone.project_id, backbone.version))
    return _embedding_map(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _embedding_map(path: str, _mtime: int) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return data["ids"], data["xy"]


def vector_index(backbone: Backbone) -> VectorIndex:
    path = get_storage().path(index_key(backbone.project_id, backbone.version))
    with _lock:
        return _vector_index(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _vector_index(path: str, _mtime: int) -> VectorIndex:
    return VectorIndex.load(Path(path))


def linear_head(classifier: Classifier) -> LinearHead:
    return _linear_head(classifier.project_id, classifier.version)


@lru_cache(maxsize=8)
def _linear_head(project_id: int, version: int) -> LinearHead:
    return LinearHead.load(get_storage().path(classifier_key(project_id, version)))
