"""Request dependencies: a database session and the authenticated user (cookie + CSRF, or bearer token)."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from labellight.api.cookies import check_csrf, session_secret
from labellight.db.models import User
from labellight.db.session import session_scope
from labellight.services import accounts
from labellight.services.errors import Unauthorized

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
    secret = session_secret(request)
    if secret is None:
        raise Unauthorized("log in or send an API token (Authorization: Bearer ...)")
    if request.method not in SAFE_METHODS:
        check_csrf(request, secret)
    return accounts.user_for_secret(session, secret, accounts.SESSION)


CurrentUser = Annotated[User, Depends(get_current_user)]
