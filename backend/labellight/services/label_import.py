"""Apply a labels file (filename → class) to the images already in a project, all or nothing, with a report
of what matched, what did not and why."""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from labellight.db.base import utcnow
from labellight.db.models import Image, User
from labellight.ingest.label_file import LabelFileRejected, LabelRow, read_label_file
from labellight.services.classifier_training import retrain_if_due
from labellight.services.errors import InvalidInput
from labellight.services.label_classes import resolve_classes
from labellight.services.projects import get_project

MAX_REPORTED_ROWS = 1_000
_NAMES_PER_QUERY = 500
NO_SUCH_FILE = "no image of this project was uploaded under this file name"


@dataclass(frozen=True)
class UnmatchedRow:
    line: int
    filename: str
    class_name: str
    reason: str


@dataclass
class LabelImport:
    rows: int = 0
    matched: int = 0
    labeled: int = 0
    """Images whose label changed."""
    unchanged: int = 0
    """Matched images that already had that label."""
    classes_created: list[str] = field(default_factory=list)
    unmatched_count: int = 0
    unmatched: list[UnmatchedRow] = field(default_factory=list)
    """The first ``MAX_REPORTED_ROWS`` rows that were not applied, each with its reason."""

    def skip(self, row: LabelRow, reason: str) -> None:
        self.unmatched_count += 1
        if len(self.unmatched) < MAX_REPORTED_ROWS:
            self.unmatched.append(UnmatchedRow(row.line, row.filename, row.class_name, reason))


def import_label_file(session: Session, user: User, project_id: int, filename: str, data: bytes) -> LabelImport:
    """Label the project's images by their uploaded file names (base names; ``cats/a.png`` is ``a.png``).

    Rows naming no image, or a name several images share, are reported and skipped; a file none of whose
    rows matches, a malformed file, or classes past the project's cap change nothing (``InvalidInput``)."""
    project = get_project(session, user, project_id)
    try:
        rows = read_label_file(filename, data)
    except LabelFileRejected as exc:
        raise InvalidInput(f"{filename}: {exc.reason}") from None
    images = _images_named(session, project.id, {row.filename for row in rows})
    report = LabelImport(rows=len(rows))
    first_line: dict[str, int] = {}
    matched: list[tuple[LabelRow, Image]] = []
    for row in rows:
        found = images.get(row.filename, [])
        if row.filename in first_line:
            report.skip(row, f"the file is listed already, on line {first_line[row.filename]}")
        elif not found:
            report.skip(row, NO_SUCH_FILE)
        elif len(found) > 1:
            report.skip(row, f"{len(found)} images of this project have this file name: label them in the app")
        else:
            matched.append((row, found[0]))
        first_line.setdefault(row.filename, row.line)
    if not matched:
        raise InvalidInput(f"{filename}: none of its {len(rows)} rows names a single image of this project "
                           "(file names are compared with the names the images were uploaded under, like a.png)")
    try:
        classes, report.classes_created = resolve_classes(session, project.id, [row.class_name for row, _ in matched])
    except InvalidInput as exc:
        raise InvalidInput(f"{filename}: {exc}") from None
    now = utcnow()
    for row, image in matched:
        target = classes[row.class_name]
        report.matched += 1
        if image.class_id == target.id:
            report.unchanged += 1
            continue
        image.class_id = target.id
        image.labeled_at = now
        report.labeled += 1
    session.commit()
    retrain_if_due(session, project.id)
    return report


def _images_named(session: Session, project_id: int, names: set[str]) -> dict[str, list[Image]]:
    wanted = sorted(names)
    found: dict[str, list[Image]] = {}
    for start in range(0, len(wanted), _NAMES_PER_QUERY):
        chunk = wanted[start:start + _NAMES_PER_QUERY]
        for image in session.scalars(select(Image).where(Image.project_id == project_id, Image.filename.in_(chunk))):
            found.setdefault(image.filename, []).append(image)
    return found
