"""What the pretrain job's guard decides on, and what it ships.

Once the project has labels (at least 2 classes with 2 labels each) the guard compares the starting and
the trained backbone by the linear head's cross-validated accuracy on them
(:mod:`labellight.ml.label_guard`), the start embedded at the size the project has it embedded at;
before that, label-free. When the guard keeps the start and the start is the project's current backbone,
nothing new ships: a new version with the same weights would only re-embed the project for nothing.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sqlalchemy import select
from torch import nn

from labellight.db import projects as project_rows
from labellight.db.models import Image
from labellight.db.session import session_scope
from labellight.ml.checkpoint import load_state_dict
from labellight.ml.label_guard import LabeledImages
from labellight.ml.pretrain import PretrainConfig, PretrainResult
from labellight.services.pretrained_start import FROZEN_START
from labellight.storage import get_storage
from labellight.storage.keys import backbone_weights_key


@dataclass(frozen=True)
class CurrentBackbone:
    """The project's current (embedded) backbone version: its number, embedding size and weights file."""

    version: int
    image_size: int
    weights: Path
    init_weights: str | None  # the weights file of a frozen pretrained start

    def start_size(self, config: PretrainConfig, from_state: bool) -> int | None:
        """The size the run's start is embedded at when the start is this backbone (``from_state``: the run
        continues from the current backbone's state; or the frozen start of the same weights file), else None."""
        frozen_same = self.init_weights is not None and self.init_weights == str(config.init_weights)
        return self.image_size if from_state or frozen_same else None


def current_backbone(project_id: int) -> CurrentBackbone | None:
    with session_scope() as session:
        row = project_rows.current_backbone(session, project_id)
        if row is None:
            return None
        path = get_storage().path(backbone_weights_key(project_id, row.version))
        frozen = row.config.get("start") == FROZEN_START
        return CurrentBackbone(row.version, int(row.config["image_size"]), path,
                               str(row.config.get("init_weights")) if frozen else None)


def labeled_images(project_id: int, pixels: np.ndarray) -> LabeledImages | None:
    """The project's labelled images among the first ``len(pixels)`` cache rows (those the run trains on)."""
    with session_scope() as session:
        rows = session.execute(
            select(Image.cache_row, Image.class_id)
            .where(Image.project_id == project_id, Image.class_id.is_not(None), Image.cache_row < len(pixels))
            .order_by(Image.cache_row)
        ).all()
    if not rows:
        return None
    cache_rows = np.array([r.cache_row for r in rows], dtype=np.int64)
    labels = np.array([r.class_id for r in rows], dtype=np.int64)
    return LabeledImages(np.asarray(pixels[cache_rows]), labels)


def same_weights(module: nn.Module, weights: Path) -> bool:
    """Whether ``module``'s state dict equals the one in the file ``weights`` (names, shapes and values)."""
    stored = load_state_dict(weights)
    state = module.state_dict()
    return stored.keys() == state.keys() and all(
        stored[name].shape == tensor.shape and torch.equal(stored[name].to(tensor.dtype), tensor.cpu())
        for name, tensor in state.items()
    )


def keeps_current(result: PretrainResult, current: CurrentBackbone | None) -> bool:
    """True when the guard kept the start and the start is ``current`` itself: nothing new to ship."""
    return result.kept == "initial" and current is not None and same_weights(result.backbone, current.weights)
