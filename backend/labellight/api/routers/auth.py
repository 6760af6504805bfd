"""Sign-up, log-in, log-out, password change and who am I; sessions travel in an HttpOnly cookie plus a
CSRF cookie bound to the session (api/cookies.py)."""

from fastapi import APIRouter, Request, Response, status

from labellight.api import cookies
from labellight.api.deps import CurrentUser, SessionDep
from labellight.api.errors import answers
from labellight.api.schemas import AuthOptionsPublic, Credentials, PasswordChange, SignUp, UserPublic
from labellight.config import get_settings
from labellight.db.models import User
from labellight.services import accounts

router = APIRouter(prefix="/auth", tags=["auth"], responses=answers(400, 401, 403, 409, 429))


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _start_session(response: Response, session: SessionDep, user: User) -> UserPublic:
    issued = accounts.issue_token(session, user, accounts.SESSION)
    cookies.set_session_cookies(response, issued.secret)
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
    user = accounts.authenticate(session, body.email, body.password, _client(request))
    return _start_session(response, session, user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def log_out(request: Request, response: Response, session: SessionDep) -> None:
    """End this browser session; like any state-changing request it needs the session's CSRF header."""
    secret = cookies.session_secret(request)
    if secret:
        cookies.check_csrf(request, secret)
        accounts.revoke_secret(session, secret)
    cookies.clear_session_cookies(response)


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT,
             responses={429: {"description": "too many wrong current passwords; see Retry-After"}})
def change_password(body: PasswordChange, user: CurrentUser, request: Request, session: SessionDep) -> None:
    """Set a new password (same policy as sign-up); every other browser session of the user ends."""
    accounts.change_password(session, user, body.current_password, body.new_password, _client(request),
                             keep_session=cookies.session_secret(request))


@router.get("/me")
def read_me(user: CurrentUser, request: Request, response: Response) -> UserPublic:
    # Re-sending the CSRF cookie lets a page whose cookie is stale (or from before the token was bound
    # to the session) recover without logging in again.
    secret = cookies.session_secret(request)
    if secret and not request.headers.get("Authorization"):
        cookies.set_csrf_cookie(response, secret)
    return UserPublic.model_validate(user)
