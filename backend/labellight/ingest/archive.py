"""Expand zip and tar archives safely, one member at a time, in memory.

Nothing is ever written to disk and entry names are never used as paths (zip-slip cannot happen).
Every decompressed byte is charged to the archive's budget as it is produced, whatever the headers
declare, so a zip bomb stops at ``IngestLimits.max_archive_bytes``. Links, devices and nested
archives are refused per member; hidden files and OS junk are skipped silently.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

from labellight.ingest.errors import IngestRejected
from labellight.ingest.limits import IngestLimits

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header; the end record of an empty zip
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz")
_JUNK_NAMES = frozenset({"__MACOSX", "Thumbs.db", "desktop.ini"})
_CHUNK_BYTES = 1 << 20
# Pax and GNU long-name headers are read whole into memory by tarfile; real ones are a few KiB.
_TAR_HEADER_ALLOWANCE = 1 << 20
_CORRUPT_STREAM_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError)
# RuntimeError covers NotImplementedError (an unsupported compression method) and a password request.
_CORRUPT_ZIP_MEMBER_ERRORS = (zipfile.BadZipFile, RuntimeError, ValueError, *_CORRUPT_STREAM_ERRORS)

SYMLINK_REJECTION = "symbolic link not followed"
HARDLINK_REJECTION = "hard link not followed"
SPECIAL_FILE_REJECTION = "device, FIFO or socket not read"
NESTED_ARCHIVE_REJECTION = "nested archive not expanded"


class ArchiveRejected(IngestRejected):
    """The whole archive is unusable: corrupt, too many entries, or its byte budget is spent.

    Tar archives are read as a stream, so this can be raised after some members were yielded.
    """


@dataclass
class ArchiveMember:
    """One file of an archive: ``data`` in memory, or ``rejection`` saying why there is none.

    ``name`` is the entry name as stored, for reports only; it is never used as a path.
    """

    name: str
    data: bytes | None
    rejection: str | None


class _Codec(NamedTuple):
    magic: bytes
    open_stream: Callable[[Path], io.BufferedIOBase]
    first_bytes: Callable[[bytes], bytes]  # decompress at most one tar block of a stream's head


_CODECS = (
    _Codec(b"\x1f\x8b", gzip.GzipFile,
           lambda head: zlib.decompressobj(wbits=31).decompress(head, tarfile.BLOCKSIZE)),
    _Codec(b"BZh", bz2.BZ2File, lambda head: bz2.BZ2Decompressor().decompress(head, tarfile.BLOCKSIZE)),
    _Codec(b"\xfd7zXZ\x00", lzma.LZMAFile,
           lambda head: lzma.LZMADecompressor().decompress(head, tarfile.BLOCKSIZE)),
)


def is_archive(filename: str, head: bytes) -> bool:
    """Whether a file is a zip or a (compressed) tar, judged from its first bytes (512 or more).

    The content decides. ``filename`` only breaks a tie when a compressed stream's head is too short
    to show a whole tar header (bzip2 decompresses in blocks of up to 900 kB).
    """
    if head.startswith(_ZIP_MAGICS):
        return True
    codec = _codec_for(head)
    try:
        block = head if codec is None else codec.first_bytes(head)
    except _CORRUPT_STREAM_ERRORS:
        return False
    if len(block) >= tarfile.BLOCKSIZE:
        return _is_tar_header(block[: tarfile.BLOCKSIZE])
    return codec is not None and filename.lower().endswith(_TAR_SUFFIXES)


def iter_archive(path: Path, limits: IngestLimits) -> Iterator[ArchiveMember]:
    """Yield the archive's files one at a time, each read into memory within the limits.

    Directories, hidden files (a name part starting with "."), ``__MACOSX`` and OS junk files are
    skipped; every other entry yields a member with ``data`` or with a ``rejection``.
    Raises ``ArchiveRejected`` when the archive as a whole cannot be used.
    """
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(_ZIP_MAGICS):
        yield from _iter_zip(path, limits)
    else:
        yield from _iter_tar(path, head, limits)


class _Budget:
    """The decompressed bytes one archive may still produce."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0

    def spend(self, count: int) -> None:
        self.spent += count
        if self.spent > self.limit:
            raise ArchiveRejected(f"archive expands to more than {self.limit} bytes")


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


class _MeteredReader(io.BufferedIOBase):
    """A read-only byte stream that charges what it returns to a budget.

    ``stop_at`` optionally caps the absolute position in the stream: reading past it raises.
    """

    def __init__(self, raw: _Readable, budget: _Budget) -> None:
        super().__init__()
        self._raw = raw
        self._budget = budget
        self.position = 0
        self.stop_at: int | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            raise ValueError("an archive stream is only read in bounded chunks")
        data = self._raw.read(size)
        self.position += len(data)
        self._budget.spend(len(data))
        if self.stop_at is not None and self.position > self.stop_at:
            raise ArchiveRejected(f"tar header larger than {_TAR_HEADER_ALLOWANCE} bytes")
        return data


def _codec_for(head: bytes) -> _Codec | None:
    return next((codec for codec in _CODECS if head.startswith(codec.magic)), None)


def _is_tar_header(block: bytes) -> bool:
    try:
        tarfile.TarInfo.frombuf(block, "utf-8", "replace")
    except tarfile.HeaderError:
        return False
    return True


def _is_hidden(name: str) -> bool:
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".", "..")]
    return any(part.startswith(".") or part in _JUNK_NAMES for part in parts)


def _too_large(declared_size: int, limits: IngestLimits) -> str | None:
    """Refuse by the declared size before reading; a small declared size is never trusted."""
    if declared_size > limits.max_file_bytes:
        return f"file too large: {declared_size} bytes exceeds the limit of {limits.max_file_bytes}"
    return None


def _read_member(name: str, stream: _Readable, limits: IngestLimits) -> ArchiveMember:
    """Read in chunks, stopping at the first chunk that shows a nested archive or passes the file limit."""
    chunks: list[bytes] = []
    total = 0
    while chunk := stream.read(_CHUNK_BYTES):
        if not chunks and is_archive(name, chunk):
            return ArchiveMember(name, None, NESTED_ARCHIVE_REJECTION)
        total += len(chunk)
        if total > limits.max_file_bytes:
            return ArchiveMember(name, None, f"file too large: over {limits.max_file_bytes} bytes")
        chunks.append(chunk)
    return ArchiveMember(name, b"".join(chunks), None)


def _iter_zip(path: Path, limits: IngestLimits) -> Iterator[ArchiveMember]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ArchiveRejected(f"corrupt zip archive: {exc}") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_archive_entries:
            raise ArchiveRejected(f"too many entries: {len(entries)} exceeds the limit of {limits.max_archive_entries}")
        budget = _Budget(limits.max_archive_bytes)
        for info in entries:
            if not info.is_dir() and not _is_hidden(info.filename):
                yield _zip_member(archive, info, budget, limits)


def _zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget,
                limits: IngestLimits) -> ArchiveMember:
    rejection = _zip_entry_rejection(info) or _too_large(info.file_size, limits)
    if rejection is not None:
        return ArchiveMember(info.filename, None, rejection)
    try:
        with archive.open(info) as raw:
            return _read_member(info.filename, _MeteredReader(raw, budget), limits)
    except _CORRUPT_ZIP_MEMBER_ERRORS as exc:
        return ArchiveMember(info.filename, None, f"corrupt archive entry: {exc}")


def _zip_entry_rejection(info: zipfile.ZipInfo) -> str | None:
    # Unix zip tools keep st_mode in the high 16 bits of external_attr; others leave them zero.
    file_type = stat.S_IFMT(info.external_attr >> 16)
    if file_type == stat.S_IFLNK:
        return SYMLINK_REJECTION
    if file_type not in (0, stat.S_IFREG):
        return SPECIAL_FILE_REJECTION
    if info.flag_bits & 0x1:
        return "encrypted entry not read"
    return None


def _iter_tar(path: Path, head: bytes, limits: IngestLimits) -> Iterator[ArchiveMember]:
    codec = _codec_for(head)
    budget = _Budget(limits.max_archive_bytes)
    try:
        with open(path, "rb") if codec is None else codec.open_stream(path) as raw:
            reader = _MeteredReader(raw, budget)
            reader.stop_at = _TAR_HEADER_ALLOWANCE
            # Stream mode: strictly sequential reads, so skipping a member is charged to the budget.
            with tarfile.open(fileobj=reader, mode="r|", encoding="utf-8", errors="replace") as tar:
                for entry_count, member in enumerate(tar, start=1):
                    # tar.offset is where this member's data ends and the next header begins.
                    reader.stop_at = tar.offset + _TAR_HEADER_ALLOWANCE
                    if entry_count > limits.max_archive_entries:
                        raise ArchiveRejected(f"too many entries: more than {limits.max_archive_entries}")
                    if not member.isdir() and not _is_hidden(member.name):
                        yield _tar_member(tar, member, limits)
    except _CORRUPT_STREAM_ERRORS as exc:
        raise ArchiveRejected(f"not a readable zip or tar archive: {exc}") from None


def _tar_member(tar: tarfile.TarFile, member: tarfile.TarInfo, limits: IngestLimits) -> ArchiveMember:
    rejection = _tar_entry_rejection(member) or _too_large(member.size, limits)
    stream = None if rejection is not None else tar.extractfile(member)
    if stream is None:
        return ArchiveMember(member.name, None, rejection or SPECIAL_FILE_REJECTION)
    with stream:
        return _read_member(member.name, stream, limits)


def _tar_entry_rejection(member: tarfile.TarInfo) -> str | None:
    if member.issym():
        return SYMLINK_REJECTION
    if member.islnk():
        return HARDLINK_REJECTION
    if not member.isreg():
        return SPECIAL_FILE_REJECTION
    return None
