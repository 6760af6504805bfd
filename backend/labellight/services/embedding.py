"""The embed job: embeddings of every image under one backbone, their FAISS index and kNN graph."""

from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sqlalchemy import select

from labellight.config import get_settings
from labellight.curation.ood import calibrate_ood
from labellight.db import projects as project_rows
from labellight.db.models import Backbone, Image, Project
from labellight.db.session import session_scope
from labellight.index.embedding_files import Embeddings, save_embeddings, save_graph, save_map
from labellight.index.neighbour_graph import NeighbourGraph
from labellight.index.vector_index import VectorIndex
from labellight.ingest.pixels import PixelCache
from labellight.jobs.context import JobContext, JobFailed
from labellight.jobs.payloads import EmbedParams
from labellight.jobs.routes import JobKind
from labellight.jobs.submit import submit_job
from labellight.ml.embed import embed
from labellight.services.classifier_training import train_new_backbone
from labellight.services.model_store import backbone_module
from labellight.services.pretrained_start import add_frozen_start
from labellight.storage import get_storage
from labellight.storage.keys import embeddings_key, index_key, map_key, neighbour_graph_key, pixel_cache_key


def queue_features_for_new_images(project_id: int) -> None:
    """New images arrived: embed them under the current backbone. A project with no backbone version at
    all gets the frozen pretrained network first (:func:`add_frozen_start`), embedded at once, so its
    suggestions, search and map work minutes after the first upload instead of after pretraining."""
    with session_scope() as session:
        served = project_rows.current_backbone(session, project_id)
        if served is not None:
            # The served backbone, and a newer one waiting for its classifier: both must know every image.
            pending = project_rows.pending_backbone(session, project_id)
            for backbone in (served, pending) if pending is not None else (served,):
                submit_job(session, project_id, JobKind.EMBED, {"backbone_id": backbone.id})
            return
    add_frozen_start(project_id)


def run_embed(ctx: JobContext[EmbedParams]) -> dict[str, Any]:
    with session_scope() as session:
        backbone = session.get(Backbone, ctx.params.backbone_id)
        project = session.get(Project, ctx.project_id)
        if backbone is None or project is None or backbone.project_id != ctx.project_id:
            raise JobFailed("the backbone or its project was deleted")
        image_rows = session.execute(
            select(Image.id, Image.cache_row).where(Image.project_id == project.id).order_by(Image.id)
        ).all()
        image_size = project.image_size
    ids = np.array([r.id for r in image_rows], dtype=np.int64)
    cache_rows = np.array([r.cache_row for r in image_rows], dtype=np.int64)
    storage = get_storage()
    pixels = PixelCache(storage.path(pixel_cache_key(ctx.project_id)), image_size).read(
        int(cache_rows.max()) + 1 if len(cache_rows) else 0)
    module = backbone_module(backbone)
    chunk = 1024
    parts = []
    for start in range(0, len(ids), chunk):
        ctx.report("embed", 0.85 * start / max(len(ids), 1), images_done=start, images=len(ids))
        parts.append(embed(module, np.asarray(pixels[cache_rows[start:start + chunk]]),
                           int(backbone.config["image_size"])))
    vectors = np.concatenate(parts) if parts else np.zeros((0, 1), dtype=np.float32)
    # The graph behind label propagation, mislabels, near duplicates and OOD calibration: a search per
    # image, far too slow for a request at 100k images, so it is built here once per backbone.
    graph = NeighbourGraph.build(vectors, progress=lambda share: ctx.report(
        "graph", 0.85 + 0.1 * share, images_done=len(ids), images=len(ids)))
    ctx.report("index", 0.95, force=True, images_done=len(ids), images=len(ids))
    # The distance beyond which a query counts as out of distribution, calibrated on the project's images.
    ood = calibrate_ood(vectors, graph=graph).threshold if len(ids) >= 2 else float("inf")
    save_embeddings(storage.path(embeddings_key(ctx.project_id, backbone.version)),
                    Embeddings(ids=ids, vectors=vectors, ood_threshold=ood))
    save_map(storage.path(map_key(ctx.project_id, backbone.version)), ids, map_2d(vectors))
    VectorIndex.build(vectors, ids, get_settings().index_kind).save(
        storage.path(index_key(ctx.project_id, backbone.version)))
    save_graph(storage.path(neighbour_graph_key(ctx.project_id, backbone.version)), ids, graph)
    with session_scope() as session:
        row = session.get(Backbone, backbone.id)
        if row is not None:
            row.ready = True
            # Images ingested while this job ran (their ingest found no embedded backbone to queue for).
            if project_rows.counts(session, ctx.project_id).image_count > len(ids):
                submit_job(session, ctx.project_id, JobKind.EMBED, {"backbone_id": backbone.id})
            if not ctx.params.head_by_caller:
                train_new_backbone(session, row)
    return {"backbone_version": backbone.version, "images": len(ids), "dim": int(vectors.shape[1])}


def map_2d(vectors: np.ndarray) -> np.ndarray:
    """A 2-D map of the embeddings: the first two principal components, scaled to [0, 1]."""
    if len(vectors) < 3:
        return np.full((len(vectors), 2), 0.5, dtype=np.float32)
    xy: np.ndarray = PCA(n_components=2, random_state=0).fit_transform(vectors)
    span = np.maximum(xy.max(axis=0) - xy.min(axis=0), 1e-9)
    scaled: np.ndarray = ((xy - xy.min(axis=0)) / span).astype(np.float32)
    return scaled

