"""The limits every upload is held to. The defaults here are the app's defaults: the settings
(``LABELLIGHT_MAX_IMAGE_PIXELS``, ``_MAX_FILE_BYTES``, ``_MAX_ARCHIVE_ENTRIES``, ``_MAX_ARCHIVE_BYTES``)
start from them."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class IngestLimits:
    """Upper bounds on one image and on one archive.

    ``max_archive_bytes`` bounds the total uncompressed bytes produced from one archive, counted as
    they are decompressed, so a zip bomb stops at the budget whatever its headers declare.
    """

    max_pixels: int = 50_000_000
    max_file_bytes: int = 50 * 2**20
    max_archive_entries: int = 20_000
    max_archive_bytes: int = 4 * 2**30

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{field.name} must be a positive integer, got {value!r}")
