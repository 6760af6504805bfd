"""Read a labels file: CSV with a header naming ``filename`` and ``class`` (or ``label``) columns, or JSON,
either ``{"a.png": "cat", ...}`` or ``[{"filename": "a.png", "class": "cat"}, ...]`` (what the label
export writes). Only the base name of each file name counts; an empty class is an error."""

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from labellight.ingest.class_tree import path_parts
from labellight.ingest.errors import IngestRejected

MAX_LABEL_ROWS = 1_000_000
_FILE_COLUMNS = ("filename", "file", "name", "path")
_CLASS_COLUMNS = ("class", "label")


class LabelFileRejected(IngestRejected):
    """The labels file cannot be read; ``reason`` says what to fix."""


@dataclass(frozen=True)
class LabelRow:
    line: int
    """Where it is: the CSV line (1 is the header) or the JSON entry (from 1)."""
    filename: str
    class_name: str


def read_label_file(filename: str, data: bytes) -> list[LabelRow]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LabelFileRejected("the labels file is not UTF-8 text") from None
    stripped = text.lstrip()
    if filename.lower().endswith(".json") or stripped.startswith(("{", "[")):
        rows = _from_json(text)
    else:
        rows = _from_csv(text)
    if not rows:
        raise LabelFileRejected("the labels file holds no rows")
    if len(rows) > MAX_LABEL_ROWS:
        raise LabelFileRejected(f"the labels file holds {len(rows)} rows, more than {MAX_LABEL_ROWS}")
    return rows


def _row(line: int, filename: Any, class_name: Any) -> LabelRow:
    if not isinstance(filename, str) or not isinstance(class_name, str):
        raise LabelFileRejected(f"entry {line}: the file name and the class must both be text")
    parts = path_parts(filename)
    if not parts:
        raise LabelFileRejected(f"entry {line}: the file name is empty")
    if not class_name.strip():
        raise LabelFileRejected(f"entry {line}: the class of {filename!r} is empty")
    return LabelRow(line, parts[-1], class_name)


def _from_json(text: str) -> list[LabelRow]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LabelFileRejected(f"the labels file is not valid JSON: {exc}") from None
    if isinstance(value, dict):
        return [_row(i, name, cls) for i, (name, cls) in enumerate(value.items(), start=1)]
    if isinstance(value, list):
        rows = []
        for i, entry in enumerate(value, start=1):
            if not isinstance(entry, dict):
                raise LabelFileRejected(f"entry {i}: expected an object with \"filename\" and \"class\"")
            cls = entry.get("class", entry.get("label"))
            rows.append(_row(i, entry.get("filename"), cls))
        return rows
    raise LabelFileRejected('JSON labels must be {"file name": "class"} or a list of {"filename", "class"}')


def _from_csv(text: str) -> list[LabelRow]:
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [h.strip().lower() for h in next(reader, [])]
        file_col = next((header.index(c) for c in _FILE_COLUMNS if c in header), None)
        class_col = next((header.index(c) for c in _CLASS_COLUMNS if c in header), None)
        if file_col is None or class_col is None:
            raise LabelFileRejected("the CSV's first line must name its columns, with 'filename' and 'class' "
                                    f"(found: {', '.join(header)[:200] or 'nothing'})")
        rows = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(record) <= max(file_col, class_col):
                raise LabelFileRejected(f"line {reader.line_num}: expected {len(header)} columns, "
                                        f"found {len(record)}")
            rows.append(_row(reader.line_num, record[file_col].strip(), record[class_col]))
            if len(rows) > MAX_LABEL_ROWS:
                break
        return rows
    except csv.Error as exc:
        raise LabelFileRejected(f"the CSV cannot be read: {exc}") from None
