"""Names of archive entries are cleaned as names of directly uploaded files are (QUALITY U8)."""

import io
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from labellight.ingest.names import display_path, member_display_name, printable
from labellight.services import ingestion
from labellight.services.uploads import safe_display_name

RLO, ESC = "\u202e", "\x1b"
HOSTILE = (f"evil{RLO}gnp.exe", f"a{ESC}[31mred.png", "two\nlines.png", "nul\x00.png", "zero\u200bwidth.png",
           "tab\there.png", "line\u2028sep.png")
# Zip and tar end a name at NUL themselves.
IN_ARCHIVES = tuple(name for name in HOSTILE if "\x00" not in name)
MakeArchive = Callable[[Path, tuple[str, ...]], Path]


@pytest.mark.parametrize("name", HOSTILE)
def test_u8_member_names_lose_control_and_bidi_characters(name: str) -> None:
    cleaned = member_display_name(f"folder/{name}")
    assert cleaned.startswith("folder/")
    assert cleaned.isprintable()
    assert cleaned.rsplit("/", 1)[-1] == safe_display_name(name)


def test_member_paths_keep_their_printable_parts() -> None:
    assert member_display_name("a/b/c.png") == "a/b/c.png"
    assert member_display_name("../../escape.png") == "../../escape.png"
    assert member_display_name(f"a\\{RLO}b.png") == "a/b.png"
    assert member_display_name(f"dir/{ESC}/\n") == "dir"
    assert member_display_name(f"{RLO}\x00") == "unnamed"
    assert printable("plain name.png") == "plain name.png"


def test_uploaded_paths_keep_their_folders_and_the_base_name() -> None:
    assert display_path(f"pets/{RLO}cat/a.png") == "pets/cat/a.png"
    assert display_path("x" * 300 + "/a.png").endswith("/a.png")
    assert len(display_path("x" * 300 + "/a.png")) == 255


def _zip(path: Path, names: tuple[str, ...]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(f"dir/{name}", b"not an image")
    return path


def _tar(path: Path, names: tuple[str, ...]) -> Path:
    with tarfile.open(path, "w") as archive:
        for name in names:
            info = tarfile.TarInfo(f"dir/{name}")
            info.size = 12
            archive.addfile(info, io.BytesIO(b"not an image"))
    return path


@pytest.mark.parametrize("make", [_zip, _tar])
def test_u8_ingest_reports_archive_entries_under_clean_names(make: MakeArchive, tmp_path: Path) -> None:
    archive = make(tmp_path / "upload", IN_ARCHIVES)
    reported = [name for name, _, _, _ in ingestion._members({"name": "up.zip", "key": ""}, archive)]
    assert reported == [f"up.zip/dir/{safe_display_name(name)}" for name in IN_ARCHIVES]
    assert all(name.isprintable() for name in reported)
