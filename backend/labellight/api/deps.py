"""Request dependencies: a database session and the authenticated user (cookie + CSRF, or bearer token)."""

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from labellight.db.models import User
from labellight.db.session import session_scope
from labellight.services import accounts
from labellight.services.errors import Unauthorized

SESSION_COOKIE = "ll_session"
CSRF_COOKIE = "ll_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


# scope="function": commit before the response is sent, so a client that reads it sees the change.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_current_user(request: Request, session: SessionDep) -> User:
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        return accounts.user_for_secret(session, authorization[7:].strip(), accounts.API)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthorized("log in or send an API token (Authorization: Bearer ...)")
    if request.method not in SAFE_METHODS:
        _check_csrf(request)
    return accounts.user_for_secret(session, cookie, accounts.SESSION)


def _check_csrf(request: Request) -> None:
    expected = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not expected or not secrets.compare_digest(expected, sent):
        raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header (copy the {CSRF_COOKIE} cookie)")


CurrentUser = Annotated[User, Depends(get_current_user)]
