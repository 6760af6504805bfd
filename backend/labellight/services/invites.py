"""One-time sign-up codes for a server whose sign-up is by invitation (LABELLIGHT_SIGNUP=invite)."""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from labellight.db.base import utcnow
from labellight.db.models import Invite

DEFAULT_DAYS = 7


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def create_invite(session: Session, days: float = DEFAULT_DAYS) -> str:
    """A new code, valid for ``days``; only its hash is stored, so it is shown once."""
    if days <= 0:
        raise ValueError(f"an invite must be valid for a positive number of days, got {days}")
    code = "lli_" + secrets.token_urlsafe(18)
    session.add(Invite(code_hash=_hash(code), expires_at=utcnow() + timedelta(days=days)))
    session.flush()
    return code


def redeem_invite(session: Session, code: str, user_id: int) -> bool:
    """Mark an unused, unexpired code as used by ``user_id``; False when there is no such code. Atomic:
    two sign-ups racing for one code cannot both succeed."""
    now = utcnow()
    result = session.execute(
        update(Invite)
        .where(Invite.code_hash == _hash(code), Invite.used_at.is_(None), Invite.expires_at > now)
        .values(used_at=now, used_by_id=user_id)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
