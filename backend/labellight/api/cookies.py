"""The browser session's two cookies: the HttpOnly session secret and the CSRF token the SPA copies into a header.

The CSRF token is an HMAC of the session secret, so it is bound to that one session: a token read from
another session (or set by a sibling subdomain) never matches. Behind HTTPS the names carry the ``__Host-``
prefix, which browsers accept only with Secure, Path=/ and no Domain, so no other host can plant them.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import HTTPException, Request, Response

from labellight.config import get_settings

CSRF_HEADER = "X-CSRF-Token"
_CSRF_PURPOSE = b"labellight csrf token"


@dataclass(frozen=True)
class CookieNames:
    session: str
    csrf: str


def cookie_names() -> CookieNames:
    prefix = "__Host-" if get_settings().cookie_secure else ""
    return CookieNames(session=f"{prefix}ll_session", csrf=f"{prefix}ll_csrf")


def csrf_token_for(session_secret: str) -> str:
    digest = hmac.new(session_secret.encode(), _CSRF_PURPOSE, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def session_secret(request: Request) -> str | None:
    return request.cookies.get(cookie_names().session) or None


def check_csrf(request: Request, secret: str) -> None:
    """Refuse a state-changing request whose CSRF header is not the one of this session."""
    sent = request.headers.get(CSRF_HEADER, "")
    if not secrets.compare_digest(csrf_token_for(secret), sent):
        raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header: send the value of this session's "
                                 f"{cookie_names().csrf} cookie")


def set_session_cookies(response: Response, secret: str) -> None:
    settings = get_settings()
    names = cookie_names()
    max_age = settings.session_days * 86400
    response.set_cookie(names.session, secret, max_age=max_age, httponly=True, secure=settings.cookie_secure,
                        samesite="lax", path="/")
    set_csrf_cookie(response, secret)


def set_csrf_cookie(response: Response, secret: str) -> None:
    """The CSRF cookie of the session ``secret`` (readable by the SPA's script, never sent to other sites)."""
    settings = get_settings()
    response.set_cookie(cookie_names().csrf, csrf_token_for(secret), max_age=settings.session_days * 86400,
                        httponly=False, secure=settings.cookie_secure, samesite="strict", path="/")


def clear_session_cookies(response: Response) -> None:
    secure = get_settings().cookie_secure
    names = cookie_names()
    response.delete_cookie(names.session, path="/", secure=secure, httponly=True, samesite="lax")
    response.delete_cookie(names.csrf, path="/", secure=secure, samesite="strict")
