"""Listing a project's images, reading their bytes, and labeling them."""

from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from labellight.db.base import utcnow
from labellight.db.models import Image, LabelClass, User
from labellight.db.projects import current_backbone, pending_backbone
from labellight.services.classifier_training import retrain_if_due
from labellight.services.errors import InvalidInput, NotFound
from labellight.services.model_store import vector_index
from labellight.services.projects import get_project
from labellight.storage import get_storage
from labellight.storage.keys import index_key, original_key, thumbnail_key

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "BMP": "image/bmp",
                 "TIFF": "image/tiff", "GIF": "image/gif"}
MAX_LABEL_BATCH = 10_000


@dataclass(frozen=True)
class ImagePage:
    items: list[Image]
    total: int


@dataclass(frozen=True)
class ImageBytes:
    data: bytes
    content_type: str


def list_images(session: Session, user: User, project_id: int, *, labeled: bool | None,
                class_id: int | None, offset: int, limit: int) -> ImagePage:
    project = get_project(session, user, project_id)
    query = select(Image).where(Image.project_id == project.id)
    if labeled is not None:
        query = query.where(Image.class_id.is_not(None) if labeled else Image.class_id.is_(None))
    if class_id is not None:
        query = query.where(Image.class_id == class_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(session.scalars(query.order_by(Image.id).offset(offset).limit(limit)))
    return ImagePage(items, int(total))


def get_image(session: Session, user: User, project_id: int, image_id: int) -> Image:
    project = get_project(session, user, project_id)
    image = session.get(Image, image_id)
    if image is None or image.project_id != project.id:
        raise NotFound("image not found")
    return image


def images_by_id(session: Session, project_id: int, image_ids: list[int]) -> dict[int, Image]:
    rows = session.scalars(select(Image).where(Image.project_id == project_id, Image.id.in_(image_ids)))
    return {image.id: image for image in rows}


def thumbnail(session: Session, user: User, project_id: int, image_id: int) -> ImageBytes:
    image = get_image(session, user, project_id, image_id)
    return ImageBytes(get_storage().get_bytes(thumbnail_key(image.project_id, image.sha256)), "image/jpeg")


def original(session: Session, user: User, project_id: int, image_id: int) -> ImageBytes:
    image = get_image(session, user, project_id, image_id)
    return ImageBytes(get_storage().get_bytes(original_key(image.project_id, image.sha256)),
                      CONTENT_TYPES.get(image.format, "application/octet-stream"))


def set_labels(session: Session, user: User, project_id: int, image_ids: list[int], class_id: int | None) -> int:
    """Label (or, with ``class_id`` None, unlabel) images; all or none: unknown ids change nothing."""
    project = get_project(session, user, project_id)
    ids = sorted(set(image_ids))
    if not ids:
        raise InvalidInput("give at least one image id")
    if len(ids) > MAX_LABEL_BATCH:
        raise InvalidInput(f"label at most {MAX_LABEL_BATCH} images per request")
    if class_id is not None:
        label_class = session.get(LabelClass, class_id)
        if label_class is None or label_class.project_id != project.id:  # 404 is for the path's project
            raise InvalidInput(f"class {class_id} is not a class of this project")
    found = images_by_id(session, project.id, ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidInput(f"not images of this project: {', '.join(map(str, missing[:20]))}")
    session.execute(
        update(Image).where(Image.project_id == project.id, Image.id.in_(ids))
        .values(class_id=class_id, labeled_at=utcnow() if class_id is not None else None)
    )
    session.commit()
    retrain_if_due(session, project.id)
    return len(ids)


def delete_image(session: Session, user: User, project_id: int, image_id: int) -> None:
    """Delete an image: its row, its files, and its vector in the current index (swapped atomically)."""
    image = get_image(session, user, project_id, image_id)
    session.delete(image)
    session.commit()
    storage = get_storage()
    storage.delete(original_key(image.project_id, image.sha256))
    storage.delete(thumbnail_key(image.project_id, image.sha256))
    # The served backbone's index, and that of a newer one waiting for its classifier.
    for backbone in (current_backbone(session, image.project_id), pending_backbone(session, image.project_id)):
        if backbone is not None:
            index = vector_index(backbone)
            if index.remove(np.array([image.id], dtype=np.int64)):
                index.save(storage.path(index_key(image.project_id, backbone.version)))
