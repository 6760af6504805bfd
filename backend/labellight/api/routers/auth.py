"""Sign-up, log-in, log-out and who am I; sessions travel in an HttpOnly cookie plus a CSRF cookie."""

import secrets

from fastapi import APIRouter, Request, Response, status

from labellight.api.deps import CSRF_COOKIE, SESSION_COOKIE, CurrentUser, SessionDep
from labellight.api.errors import answers
from labellight.api.schemas import AuthOptionsPublic, Credentials, SignUp, UserPublic
from labellight.config import get_settings
from labellight.db.models import User
from labellight.services import accounts

router = APIRouter(prefix="/auth", tags=["auth"], responses=answers(400, 401, 403, 409, 429))


def _start_session(response: Response, session: SessionDep, user: User) -> UserPublic:
    issued = accounts.issue_token(session, user, accounts.SESSION)
    settings = get_settings()
    max_age = settings.session_days * 86400
    response.set_cookie(SESSION_COOKIE, issued.secret, max_age=max_age, httponly=True,
                        secure=settings.cookie_secure, samesite="lax", path="/")
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(24), max_age=max_age, httponly=False,
                        secure=settings.cookie_secure, samesite="strict", path="/")
    return UserPublic.model_validate(user)


@router.get("/options")
def read_auth_options() -> AuthOptionsPublic:
    """What the log-in page offers: whether anyone may sign up, only with an invite code, or nobody."""
    return AuthOptionsPublic(signup=get_settings().signup)


@router.post("/signup", status_code=status.HTTP_201_CREATED,
             responses={403: {"description": "sign-up is closed, or needs a valid invite code"}})
def sign_up(body: SignUp, response: Response, session: SessionDep) -> UserPublic:
    user = accounts.sign_up(session, body.email, body.password, body.invite)
    return _start_session(response, session, user)


@router.post("/login", responses={429: {"description": "too many failed log-ins; see Retry-After"}})
def log_in(body: Credentials, request: Request, response: Response, session: SessionDep) -> UserPublic:
    client = request.client.host if request.client else "unknown"
    user = accounts.authenticate(session, body.email, body.password, client)
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
