"""Sign-up, log-in, log-out and who am I; sessions travel in an HttpOnly cookie plus a CSRF cookie."""

import secrets

from fastapi import APIRouter, Request, Response, status

from labellight.api.deps import CSRF_COOKIE, SESSION_COOKIE, CurrentUser, SessionDep
from labellight.api.schemas import Credentials, UserPublic
from labellight.config import get_settings
from labellight.db.models import User
from labellight.services import accounts

router = APIRouter(prefix="/auth", tags=["auth"])


def _start_session(response: Response, session: SessionDep, user: User) -> UserPublic:
    issued = accounts.issue_token(session, user, accounts.SESSION)
    settings = get_settings()
    max_age = settings.session_days * 86400
    response.set_cookie(SESSION_COOKIE, issued.secret, max_age=max_age, httponly=True,
                        secure=settings.cookie_secure, samesite="lax", path="/")
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(24), max_age=max_age, httponly=False,
                        secure=settings.cookie_secure, samesite="strict", path="/")
    return UserPublic.model_validate(user)


@router.post("/signup", status_code=status.HTTP_201_CREATED)
def sign_up(body: Credentials, response: Response, session: SessionDep) -> UserPublic:
    user = accounts.create_user(session, body.email, body.password)
    return _start_session(response, session, user)


@router.post("/login")
def log_in(body: Credentials, response: Response, session: SessionDep) -> UserPublic:
    user = accounts.authenticate(session, body.email, body.password)
    return _start_session(response, session, user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def log_out(request: Request, response: Response, session: SessionDep) -> None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.revoke_secret(session, cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.get("/me")
def read_me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)
