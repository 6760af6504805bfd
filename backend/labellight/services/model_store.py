"""Loading a project's model files: backbones, heads, embeddings, indexes and graphs, cached per version."""

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from labellight.db.models import Backbone, Classifier
from labellight.index.embedding_files import Embeddings as Embeddings  # re-exported: the services use it
from labellight.index.embedding_files import load_embeddings, load_graph, load_map
from labellight.index.neighbour_graph import NeighbourGraph
from labellight.index.vector_index import VectorIndex
from labellight.ml.backbones import build_backbone
from labellight.ml.checkpoint import load_state_dict
from labellight.ml.classifier import LinearHead
from labellight.storage import get_storage
from labellight.storage.keys import (
    backbone_weights_key,
    classifier_key,
    embeddings_key,
    index_key,
    map_key,
    neighbour_graph_key,
)

_lock = threading.Lock()
_graph_locks: dict[str, threading.Lock] = {}


def backbone_module(backbone: Backbone) -> torch.nn.Module:
    return backbone_module_of(backbone.project_id, backbone.version, backbone.config["backbone"],
                              bool(backbone.config.get("small_images", True)))


def backbone_module_of(project_id: int, version: int, name: str, small_images: bool) -> torch.nn.Module:
    """:func:`backbone_module` for a backbone known by these fields (no database row needed)."""
    return _backbone_module(project_id, version, name, small_images)


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
    return load_embeddings(Path(path))


def neighbour_graph(backbone: Backbone) -> NeighbourGraph:
    """The kNN graph over the rows of :func:`embeddings` of ``backbone``.

    The embed job stores it next to the embeddings. A backbone embedded before graphs were stored (or
    a re-embed caught between writing the two files: the graph's ids then differ) gets it built here,
    once per embeddings file, and kept in memory; concurrent requests wait for that one build.
    """
    storage = get_storage()
    vectors_path = storage.path(embeddings_key(backbone.project_id, backbone.version))
    graph_path = storage.path(neighbour_graph_key(backbone.project_id, backbone.version))
    vectors_mtime = vectors_path.stat().st_mtime_ns
    graph_mtime = graph_path.stat().st_mtime_ns if graph_path.exists() else None
    with _lock:
        build_lock = _graph_locks.setdefault(str(vectors_path), threading.Lock())
    with build_lock:
        return _neighbour_graph(str(vectors_path), vectors_mtime, str(graph_path), graph_mtime)


@lru_cache(maxsize=4)
def _neighbour_graph(vectors_path: str, vectors_mtime: int, graph_path: str, graph_mtime: int | None) -> NeighbourGraph:
    emb = _embeddings(vectors_path, vectors_mtime)
    stored = load_graph(Path(graph_path), emb.ids) if graph_mtime is not None else None
    return stored if stored is not None else NeighbourGraph.build(emb.vectors)


def embedding_map(backbone: Backbone) -> tuple[np.ndarray, np.ndarray]:
    """(image ids, xy in [0, 1]) of the backbone's 2-D map."""
    path = get_storage().path(map_key(backbone.project_id, backbone.version))
    return _embedding_map(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _embedding_map(path: str, _mtime: int) -> tuple[np.ndarray, np.ndarray]:
    return load_map(Path(path))


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
