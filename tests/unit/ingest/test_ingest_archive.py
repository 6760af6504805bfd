"""Archive expansion: in memory only, links and nested archives refused, bombs stopped (QUALITY U2, U3)."""

from __future__ import annotations

import bz2
import gzip
import io
import os
import stat
import tarfile
import tracemalloc
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from labellight.ingest.archive import (
    HARDLINK_REJECTION,
    NESTED_ARCHIVE_REJECTION,
    SPECIAL_FILE_REJECTION,
    SYMLINK_REJECTION,
    ArchiveMember,
    ArchiveRejected,
    is_archive,
    iter_archive,
)
from labellight.ingest.limits import IngestLimits

LIMITS = IngestLimits()
MiB = 2**20
TAR_MODES = {"tar": "w", "tar.gz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz"}


def write_zip(path: Path, entries: Iterable[tuple[str | zipfile.ZipInfo, bytes]],
              compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return path


def tar_info(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, **fields: object) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    for key, value in fields.items():
        setattr(info, key, value)
    return info


def write_tar(path: Path, entries: Iterable[tuple[tarfile.TarInfo, bytes]], mode: str = "w") -> Path:
    with tarfile.open(path, mode, format=tarfile.PAX_FORMAT) as archive:  # type: ignore[call-overload]
        for info, data in entries:
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def members(path: Path, limits: IngestLimits = LIMITS) -> dict[str, ArchiveMember]:
    return {member.name: member for member in iter_archive(path, limits)}


def snapshot(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


@pytest.fixture(scope="module")
def zero_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A zip holding 100 MiB of zeros that deflates to about 100 KiB."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("zeros.jpg", "w") as entry:
        for _ in range(100):
            entry.write(bytes(MiB))
    assert path.stat().st_size < MiB
    return path


def test_zip_members_are_yielded_in_memory(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "photos.zip", [("a.jpg", b"first"), ("dir/", b""), ("dir/b.png", b"second")])

    found = members(path)

    assert found == {"a.jpg": ArchiveMember("a.jpg", b"first", None),
                     "dir/b.png": ArchiveMember("dir/b.png", b"second", None)}


@pytest.mark.parametrize("suffix", sorted(TAR_MODES))
def test_tar_archives_of_every_compression_are_read(tmp_path: Path, suffix: str) -> None:
    entries = [(tar_info("./photos", kind=tarfile.DIRTYPE), b""), (tar_info("./photos/a.jpg", b"first"), b"first"),
               (tar_info("b.png", b"second" * 1000), b"second" * 1000)]
    path = write_tar(tmp_path / f"photos.{suffix}", entries, TAR_MODES[suffix])

    found = members(path)

    assert {name: member.data for name, member in found.items()} == {"./photos/a.jpg": b"first",
                                                                     "b.png": b"second" * 1000}


def test_is_archive_judges_by_content(tmp_path: Path) -> None:
    zip_head = write_zip(tmp_path / "a.zip", [("a.jpg", b"x")]).read_bytes()[:512]
    heads = {suffix: write_tar(tmp_path / f"a.{suffix}", [(tar_info("a.jpg", b"x" * 600), b"x" * 600)],
                               mode).read_bytes()[:512]
             for suffix, mode in TAR_MODES.items()}

    assert is_archive("upload.jpg", zip_head)
    assert is_archive("upload.jpg", heads["tar"])
    assert is_archive("upload.jpg", heads["tar.gz"])
    assert is_archive("upload.jpg", heads["tar.xz"])
    assert not is_archive("photo.zip", b"\xff\xd8\xff\xe0" + bytes(508))
    assert not is_archive("photo.gz", gzip.compress(b"\xff\xd8\xff\xe0" + bytes(2000)))
    assert not is_archive("short.tar", b"ustar")


def test_is_archive_trusts_a_tar_name_only_for_a_compressed_head_too_short_to_read(tmp_path: Path) -> None:
    head = write_tar(tmp_path / "a.tar.bz2", [(tar_info("a.jpg", b"x"), b"x")], "w:bz2").read_bytes()[:16]

    assert is_archive("photos.tar.bz2", head)
    assert is_archive("photos.TBZ2", head)
    assert not is_archive("photo.jpg", head)
    assert not is_archive("photos.tar.bz2", bz2.compress(b"not a tar " * 100))


@pytest.mark.parametrize("name", ["../../etc/passwd", "/abs/evil.jpg", "a/../../b.jpg", "..\\..\\win.jpg"])
def test_u3_zip_slip_names_never_touch_the_filesystem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   name: str) -> None:
    workdir = tmp_path / "work" / "deep"
    workdir.mkdir(parents=True)
    monkeypatch.chdir(workdir)
    path = write_zip(tmp_path / "slip.zip", [(name, b"payload")])
    before = snapshot(tmp_path)

    found = members(path)

    assert snapshot(tmp_path) == before
    assert found[name] == ArchiveMember(name, b"payload", None)


def test_u3_duplicate_names_are_all_yielded(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = write_zip(tmp_path / "dup.zip", [("a.jpg", b"one"), ("a.jpg", b"two")])

    assert [member.data for member in iter_archive(path, LIMITS)] == [b"one", b"two"]


def test_u3_zip_symlinks_and_devices_are_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("link.jpg")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    fifo = zipfile.ZipInfo("fifo.jpg")
    fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
    plain = zipfile.ZipInfo("plain.jpg")
    plain.external_attr = (stat.S_IFREG | 0o644) << 16
    path = write_zip(tmp_path / "links.zip", [(link, b"/etc/passwd"), (fifo, b""), (plain, b"ok")])

    found = members(path)

    assert found["link.jpg"] == ArchiveMember("link.jpg", None, SYMLINK_REJECTION)
    assert found["fifo.jpg"] == ArchiveMember("fifo.jpg", None, SPECIAL_FILE_REJECTION)
    assert found["plain.jpg"].data == b"ok"


def test_u3_tar_links_and_devices_are_refused(tmp_path: Path) -> None:
    path = write_tar(tmp_path / "links.tar", [
        (tar_info("sym.jpg", kind=tarfile.SYMTYPE, linkname="/etc/passwd"), b""),
        (tar_info("hard.jpg", kind=tarfile.LNKTYPE, linkname="sym.jpg"), b""),
        (tar_info("dev.jpg", kind=tarfile.CHRTYPE, devmajor=1, devminor=3), b""),
        (tar_info("fifo.jpg", kind=tarfile.FIFOTYPE), b""),
        (tar_info("ok.jpg", b"ok"), b"ok"),
    ])

    found = members(path)

    assert {name: member.rejection for name, member in found.items()} == {
        "sym.jpg": SYMLINK_REJECTION, "hard.jpg": HARDLINK_REJECTION, "dev.jpg": SPECIAL_FILE_REJECTION,
        "fifo.jpg": SPECIAL_FILE_REJECTION, "ok.jpg": None}


def test_u2_nested_archives_are_refused_not_expanded(tmp_path: Path) -> None:
    inner_zip = write_zip(tmp_path / "inner.zip", [("a.jpg", b"x")]).read_bytes()
    inner_tgz = write_tar(tmp_path / "inner.tgz", [(tar_info("a.jpg", b"x" * 600), b"x" * 600)], "w:gz").read_bytes()
    path = write_zip(tmp_path / "outer.zip", [("inner.zip", inner_zip), ("renamed.jpg", inner_tgz), ("ok.jpg", b"ok")])

    found = members(path)

    assert found["inner.zip"].rejection == NESTED_ARCHIVE_REJECTION
    assert found["renamed.jpg"].rejection == NESTED_ARCHIVE_REJECTION
    assert found["ok.jpg"].data == b"ok"


def test_hidden_files_and_os_junk_are_skipped_silently(tmp_path: Path) -> None:
    names = ["__MACOSX/._a.jpg", ".DS_Store", "dir/.DS_Store", "dir/.hidden.jpg", ".git/config", "Thumbs.db",
             "./dir/kept.jpg", "kept.jpg"]
    path = write_zip(tmp_path / "mac.zip", [(name, b"x") for name in names])

    assert sorted(members(path)) == ["./dir/kept.jpg", "kept.jpg"]


def test_u2_a_zip_bomb_is_stopped_by_the_byte_budget_without_reading_it_all(zero_bomb: Path) -> None:
    limits = IngestLimits(max_file_bytes=200 * MiB, max_archive_bytes=4 * MiB)
    tracemalloc.start()
    try:
        with pytest.raises(ArchiveRejected, match="expands to more than"):
            list(iter_archive(zero_bomb, limits))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 20 * MiB


def test_u2_a_zip_bomb_member_over_the_file_limit_is_refused_by_its_declared_size(zero_bomb: Path) -> None:
    found = members(zero_bomb, IngestLimits(max_file_bytes=10 * MiB))

    assert found["zeros.jpg"].data is None
    assert found["zeros.jpg"].rejection == f"file too large: {100 * MiB} bytes exceeds the limit of {10 * MiB}"


def test_many_small_members_share_one_budget(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "many.zip", [(f"{i}.jpg", bytes(MiB)) for i in range(10)])
    seen: list[str] = []

    with pytest.raises(ArchiveRejected, match="expands to more than"):
        seen.extend(member.name for member in iter_archive(path, IngestLimits(max_archive_bytes=int(3.5 * MiB))))

    assert seen == ["0.jpg", "1.jpg", "2.jpg"]


def test_a_skipped_tar_member_still_spends_the_budget(tmp_path: Path) -> None:
    # Skipping a member of a compressed tar decompresses it; the budget must count those bytes too.
    big = bytes(20 * MiB)
    path = write_tar(tmp_path / "bomb.tar.gz", [(tar_info("big.jpg", big), big), (tar_info("a.jpg", b"x"), b"x")],
                     "w:gz")
    limits = IngestLimits(max_file_bytes=MiB, max_archive_bytes=5 * MiB)
    seen: list[ArchiveMember] = []

    with pytest.raises(ArchiveRejected, match="expands to more than"):
        seen.extend(iter_archive(path, limits))

    assert [member.rejection for member in seen] == [f"file too large: {20 * MiB} bytes exceeds the limit of {MiB}"]


def test_an_oversized_tar_header_is_refused(tmp_path: Path) -> None:
    info = tar_info("a.jpg", b"x")
    info.pax_headers = {"comment": "x" * (3 * MiB)}
    path = write_tar(tmp_path / "pax.tar.gz", [(info, b"x")], "w:gz")

    with pytest.raises(ArchiveRejected, match="tar header larger than"):
        list(iter_archive(path, LIMITS))


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_u2_the_entry_count_is_limited(tmp_path: Path, kind: str) -> None:
    if kind == "zip":
        path = write_zip(tmp_path / "many.zip", [(f"{i}.jpg", b"x") for i in range(11)])
    else:
        path = write_tar(tmp_path / "many.tar.gz", [(tar_info(f"{i}.jpg", b"x"), b"x") for i in range(11)], "w:gz")

    with pytest.raises(ArchiveRejected, match="too many entries"):
        list(iter_archive(path, IngestLimits(max_archive_entries=10)))
    assert len(members(path, IngestLimits(max_archive_entries=11))) == 11


def test_u5_a_corrupt_zip_member_is_refused_and_the_others_kept(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "crc.zip", [("bad.jpg", b"A" * 100), ("good.jpg", b"B" * 100)], zipfile.ZIP_STORED)
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b"A" * 100, b"A" * 99 + b"Z", 1))

    found = members(path)

    assert found["bad.jpg"].data is None
    assert found["bad.jpg"].rejection is not None
    assert found["bad.jpg"].rejection.startswith("corrupt archive entry")
    assert found["good.jpg"].data == b"B" * 100


def test_an_encrypted_zip_member_is_refused(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "enc.zip", [("secret.jpg", b"x")], zipfile.ZIP_STORED)
    raw = bytearray(path.read_bytes())
    for signature, flags_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local and central headers
        raw[raw.index(signature) + flags_offset] |= 0x1  # general purpose bit 0: encrypted
    path.write_bytes(raw)

    assert members(path)["secret.jpg"].rejection == "encrypted entry not read"


def test_a_member_over_the_file_limit_is_refused(tmp_path: Path) -> None:
    path = write_tar(tmp_path / "big.tar", [(tar_info("big.jpg", b"x" * 2000), b"x" * 2000),
                                             (tar_info("ok.jpg", b"ok"), b"ok")])

    found = members(path, IngestLimits(max_file_bytes=1000))

    assert found["big.jpg"].rejection == "file too large: 2000 bytes exceeds the limit of 1000"
    assert found["ok.jpg"].data == b"ok"


@pytest.mark.parametrize("content", [b"PK\x03\x04" + os.urandom(200), b"\xff\xd8\xff\xe0 a jpeg", b""],
                         ids=["broken-zip", "not-an-archive", "empty"])
def test_unreadable_archives_are_rejected_whole(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "upload.bin"
    path.write_bytes(content)

    with pytest.raises(ArchiveRejected):
        list(iter_archive(path, LIMITS))


def test_a_truncated_tar_gz_is_rejected(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    path = write_tar(tmp_path / "cut.tar.gz", [(tar_info("a.jpg", data), data)], "w:gz")
    path.write_bytes(path.read_bytes()[:100_000])

    with pytest.raises(ArchiveRejected, match="not a readable"):
        list(iter_archive(path, LIMITS))
