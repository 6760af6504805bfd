"""Labels an ingest reads from class folders: which image gets which class, applied in the ingest's commit."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labellight.db.base import utcnow
from labellight.db.models import Image
from labellight.ingest.class_tree import read_class_tree
from labellight.services.label_classes import resolve_classes

_HASHES_PER_QUERY = 500


@dataclass
class Placed:
    """An image file of the ingest (new or already in the project) and where it lay."""

    group: str
    """Its archive, or the folder upload it came in (every plain file of one ingest is one group)."""
    path: str
    sha256: str
    entry: dict[str, Any] | None
    class_name: str | None = None


@dataclass
class FolderLabels:
    placed: list[Placed] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    classes_created: list[str] = field(default_factory=list)
    labeled: int = 0

    def place(self, group: str, path: str, sha256: str, entry: dict[str, Any] | None) -> None:
        self.placed.append(Placed(group, path, sha256, entry))

    def read_tree(self) -> None:
        """Give each placed image the class its folders say, per group (see ``ingest.class_tree``)."""
        groups: dict[str, list[Placed]] = {}
        for placed in self.placed:
            groups.setdefault(placed.group, []).append(placed)
        for members in groups.values():
            tree = read_class_tree([p.path for p in members])
            if tree.hint is not None:
                self.hints.append(tree.hint)
            for placed, class_name in zip(members, tree.classes, strict=True):
                placed.class_name = class_name

    def apply(self, session: Session, project_id: int, new_rows: dict[str, Image]) -> None:
        """Create the classes and set the labels, in the ingest's transaction (so all or nothing).

        A new image takes its folder's class; an image already in the project takes it only while it
        has no label (a label someone set wins, and the report says so). One content in two class folders
        keeps the first. Raises ``InvalidInput`` for a folder name unusable as a class, or past the cap."""
        labeled = [p for p in self.placed if p.class_name is not None]
        if not labeled:
            return
        classes, self.classes_created = resolve_classes(session, project_id, [p.class_name or "" for p in labeled])
        rows = dict(new_rows)
        rows.update(_rows_by_hash(session, project_id, {p.sha256 for p in labeled} - rows.keys()))
        chosen: dict[str, int] = {}
        now = utcnow()
        for placed in labeled:
            row = rows.get(placed.sha256)
            label_class = classes[placed.class_name or ""]
            if row is None:
                continue
            if placed.sha256 in chosen:
                if chosen[placed.sha256] != label_class.id:
                    _note(placed, label_class.name, "the same image is in another class folder of this import: "
                          "its first folder's class was kept")
                continue
            if row.class_id is not None and row.class_id != label_class.id:
                _note(placed, label_class.name, "the image was already labeled: its label was kept")
                chosen[placed.sha256] = row.class_id
                continue
            chosen[placed.sha256] = label_class.id
            if row.class_id != label_class.id:
                row.class_id = label_class.id
                row.labeled_at = now
                self.labeled += 1
            if placed.entry is not None:
                placed.entry["label"] = label_class.name
        session.flush()

    def result(self) -> dict[str, Any]:
        return {"classes_created": self.classes_created, "labeled": self.labeled,
                **({"class_folders_hint": "; ".join(self.hints)} if self.hints else {})}


def _note(placed: Placed, class_name: str, why: str) -> None:
    if placed.entry is not None:
        placed.entry["label_note"] = f"not labeled {class_name!r}: {why}"


def _rows_by_hash(session: Session, project_id: int, hashes: Sequence[str] | set[str]) -> dict[str, Image]:
    wanted = list(hashes)
    found: dict[str, Image] = {}
    for start in range(0, len(wanted), _HASHES_PER_QUERY):
        chunk = wanted[start:start + _HASHES_PER_QUERY]
        for row in session.scalars(select(Image).where(Image.project_id == project_id, Image.sha256.in_(chunk))):
            found[row.sha256] = row
    return found

