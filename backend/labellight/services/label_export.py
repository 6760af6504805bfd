"""The labels a user made, out: CSV, JSON, or an ImageFolder zip of the original images by class, streamed."""

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labellight.db.models import Image, LabelClass, User
from labellight.db.session import session_scope
from labellight.ingest.names import printable
from labellight.services.projects import get_project
from labellight.storage import get_storage
from labellight.storage.keys import original_key

_ROWS_PER_CHUNK = 500
COLUMNS = ("filename", "sha256", "class", "labeled_at", "image_id")


class LabelExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    IMAGEFOLDER = "imagefolder"


@dataclass(frozen=True)
class LabeledImage:
    image_id: int
    filename: str
    sha256: str
    class_name: str
    labeled_at: datetime | None

    def record(self) -> dict[str, Any]:
        return {"filename": self.filename, "sha256": self.sha256, "class": self.class_name,
                "labeled_at": self.labeled_at.isoformat() if self.labeled_at else None, "image_id": self.image_id}


@dataclass(frozen=True)
class LabelExport:
    filename: str
    media_type: str
    chunks: Iterator[bytes]


def export_labels(session: Session, user: User, project_id: int, fmt: LabelExportFormat) -> LabelExport:
    """The project's labeled images in image order, read page by page while they stream (the owner is
    checked first, so another user's project is a 404 before any byte)."""
    project = get_project(session, user, project_id)
    labeled = _labeled(project.id)
    stem = f"labellight-project-{project.id}-labels"
    if fmt is LabelExportFormat.CSV:
        return LabelExport(f"{stem}.csv", "text/csv; charset=utf-8", _csv_chunks(labeled))
    if fmt is LabelExportFormat.JSON:
        return LabelExport(f"{stem}.json", "application/json", _json_chunks(labeled))
    chunks = (chunk for chunk in _imagefolder_chunks(project.id, labeled) if chunk)
    return LabelExport(f"{stem}-imagefolder.zip", "application/zip", chunks)


def _labeled(project_id: int) -> Iterator[list[LabeledImage]]:
    """Pages of the labeled images, by image id (keyset), each read in a short session of its own."""
    after = 0
    while True:
        with session_scope() as session:
            page = [LabeledImage(*row) for row in session.execute(
                select(Image.id, Image.filename, Image.sha256, LabelClass.name, Image.labeled_at)
                .join(LabelClass, LabelClass.id == Image.class_id)
                .where(Image.project_id == project_id, Image.id > after)
                .order_by(Image.id).limit(_ROWS_PER_CHUNK))]
        if not page:
            return
        yield page
        after = page[-1].image_id


def _csv_chunks(labeled: Iterator[list[LabeledImage]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for page in labeled:
        writer.writerows(item.record() for item in page)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _json_chunks(labeled: Iterator[list[LabeledImage]]) -> Iterator[bytes]:
    yield b"["
    separator = "\n"
    for page in labeled:
        yield (separator + ",\n".join(json.dumps(item.record()) for item in page)).encode()
        separator = ",\n"
    yield b"\n]\n"


class _Pipe:
    """A write-only stream that hands on what was written: a zip written into it streams out."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def _safe_part(name: str) -> str:
    cleaned = printable(name).replace("/", "_").replace("\\", "_").strip().lstrip(".")
    return cleaned or "unnamed"


def _imagefolder_chunks(project_id: int, labeled: Iterator[list[LabeledImage]]) -> Iterator[bytes]:
    """``<class>/<file name>`` per labeled image (torchvision's ImageFolder layout); names made unique."""
    storage = get_storage()
    pipe = _Pipe()
    used: set[str] = set()
    folders: dict[str, str] = {}
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_STORED) as archive:
        for item in (item for page in labeled for item in page):
            folder = folders.get(item.class_name)
            if folder is None:
                folder = _safe_part(item.class_name)
                while folder.casefold() in {f.casefold() for f in folders.values()}:
                    folder += "_"
                folders[item.class_name] = folder
            name = _safe_part(item.filename)
            entry = f"{folder}/{name}"
            if entry.casefold() in used:  # the same file name twice in a class: the content tells them apart
                stem, dot, ext = name.rpartition(".")
                entry = f"{folder}/{stem}-{item.sha256[:12]}.{ext}" if dot else f"{entry}-{item.sha256[:12]}"
            used.add(entry.casefold())
            path = storage.path(original_key(project_id, item.sha256))
            if not path.exists():
                continue  # deleted while the export ran
            info = zipfile.ZipInfo(entry, date_time=_zip_time(item.labeled_at))
            with archive.open(info, "w") as out, path.open("rb") as source:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
                    yield pipe.take()
            yield pipe.take()
    yield pipe.take()


def _zip_time(when: datetime | None) -> tuple[int, int, int, int, int, int]:
    if when is None or when.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (when.year, when.month, when.day, when.hour, when.minute, when.second)
