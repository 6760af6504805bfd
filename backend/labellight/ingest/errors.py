"""The base of the ingest rejections: an upload refused for a reason a user can read."""

from __future__ import annotations


class IngestRejected(Exception):
    """An input refused by ingest; ``reason`` says what is wrong, in words fit for an import report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
