"""Class names as imports meet them: one spelling per class, compared without case ("cat" is "Cat")."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from labellight.config import get_settings
from labellight.db.models import LabelClass
from labellight.services.errors import InvalidInput
from labellight.services.projects import PALETTE, clean_name

CLASS_NAME_LENGTH = 100


def class_key(cleaned: str) -> str:
    """What makes two class names the same class: their case-folded text."""
    return cleaned.casefold()


def resolve_classes(session: Session, project_id: int, names: Iterable[str]) -> tuple[dict[str, LabelClass], list[str]]:
    """Every name's class, matched by ``class_key`` of its cleaned name: an existing class when one matches
    without case, else a new one (added to the session, flushed). Returns (class by name as given, names
    of the classes created).
    Raises ``InvalidInput`` for an unusable name or when the new classes pass the project's cap."""
    existing = list(session.scalars(select(LabelClass).where(LabelClass.project_id == project_id)
                                    .order_by(LabelClass.position)))
    by_key = {class_key(c.name): c for c in existing}
    wanted: dict[str, str] = {}
    keys: dict[str, str] = {}
    for name in names:
        if name in keys:
            continue
        try:
            cleaned = clean_name(name, "class", CLASS_NAME_LENGTH)
        except InvalidInput as exc:
            raise InvalidInput(f"{name[:120]!r}: {exc}") from None
        keys[name] = class_key(cleaned)
        wanted.setdefault(keys[name], cleaned)
    new = [cleaned for key, cleaned in wanted.items() if key not in by_key]
    cap = get_settings().max_classes_per_project
    if len(existing) + len(new) > cap:
        raise InvalidInput(f"this would make {len(existing) + len(new)} classes ({len(new)} new), more than the "
                           f"{cap} a project may hold (LABELLIGHT_MAX_CLASSES_PER_PROJECT)")
    for position, cleaned in enumerate(new, start=len(existing)):
        label_class = LabelClass(project_id=project_id, name=cleaned, position=position,
                                 color=PALETTE[position % len(PALETTE)])
        session.add(label_class)
        by_key[class_key(cleaned)] = label_class
    session.flush()
    return {name: by_key[key] for name, key in keys.items()}, new
