"""Lists of ids in a query string ("1,2,3"): parsed, or answered with a 422 that says what to send."""

from fastapi import HTTPException


def parse_ids(value: str, name: str, limit: int) -> list[int]:
    """The positive integers of a comma-separated ``value`` (empty parts skipped), at most ``limit``."""
    try:
        ids = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise HTTPException(422, f"{name} must be comma-separated integers, e.g. 1,2,3") from None
    if any(i < 1 for i in ids):
        raise HTTPException(422, f"{name} must hold image ids, which are positive integers")
    if len(ids) > limit:
        raise HTTPException(422, f"{name} may hold at most {limit} ids, got {len(ids)}")
    return ids
