"""Content addresses of uploaded bytes."""

from __future__ import annotations

import hashlib


def sha256_hex(data: bytes) -> str:
    """The lowercase hex SHA-256 digest of ``data`` (64 characters)."""
    return hashlib.sha256(data).hexdigest()
