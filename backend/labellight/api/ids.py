"""Ids in paths, queries and bodies: bounded to what the database stores, so a huge number answers
404/422 instead of overflowing a query; lists of ids in a query string ("1,2,3")."""

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

from labellight.api.errors import invalid_query

MAX_ID = 2**31 - 1
"""Ids are 32-bit integer columns on PostgreSQL; a larger number can name nothing."""

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int, Query(ge=1, le=MAX_ID)]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]


def parse_ids(value: str, name: str, limit: int) -> list[int]:
    """The ids in a comma-separated ``value`` (empty parts skipped), at most ``limit``."""
    try:
        ids = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise invalid_query(name, value, f"{name} must be comma-separated integers, e.g. 1,2,3") from None
    if any(not 1 <= i <= MAX_ID for i in ids):
        raise invalid_query(name, value, f"{name} must hold image ids: positive whole numbers up to {MAX_ID}")
    if len(ids) > limit:
        raise invalid_query(name, value, f"{name} may hold at most {limit} ids, got {len(ids)}")
    return ids
