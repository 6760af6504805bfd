"""Users, password checks, browser sessions and API tokens (only hashes are stored)."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labellight.config import get_settings
from labellight.db.base import utcnow
from labellight.db.models import AuthToken, User
from labellight.services import invites, rate_limits
from labellight.services.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from labellight.services.passwords import check_password

SESSION = "session"
API = "api"
_hasher = PasswordHasher()
# Verifying against this when the email is unknown keeps login timing the same for both cases.
_DUMMY_HASH = _hasher.hash("not a real password")


@dataclass(frozen=True)
class IssuedToken:
    token: AuthToken
    secret: str


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_email(email: str) -> str:
    """The address in lower case, if it is a well-formed address with a real domain (nothing is sent)."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidInput(f"enter a valid email address: {error}") from None
    return checked.normalized.lower()


def create_user(session: Session, email: str, password: str) -> User:
    """An account made by the operator (``labellight create-user``): whatever the sign-up setting."""
    address = normalise_email(email)
    check_password(password, address)
    user = User(email=address, password_hash=_hasher.hash(password))
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("an account with this email already exists") from None
    return user


def sign_up(session: Session, email: str, password: str, invite: str | None) -> User:
    """An account made in the app, as the server's sign-up setting allows."""
    mode = get_settings().signup
    if mode == "closed":
        raise Forbidden("sign-up is closed on this server: ask its operator for an account")
    if mode == "invite" and not invite:
        raise Forbidden("sign-up on this server needs an invite code: ask its operator for one")
    user = create_user(session, email, password)
    if mode == "invite" and not invites.redeem_invite(session, invite or "", user.id):
        session.rollback()
        raise Forbidden("this invite code is unknown, used or expired: ask the server's operator for a new one")
    return user


def authenticate(session: Session, email: str, password: str, client: str) -> User:
    """The user whose email and password these are; failed attempts are throttled per account and client."""
    address = email.strip().lower()
    rate_limits.check_login(address, client)
    user = session.scalar(select(User).where(User.email == address))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        rate_limits.record_login_failure(address, client)
        raise Unauthorized("wrong email or password") from None
    if user is None:
        rate_limits.record_login_failure(address, client)
        raise Unauthorized("wrong email or password")
    return user


def issue_token(session: Session, user: User, kind: str, name: str = "",
                lifetime: timedelta | None = None) -> IssuedToken:
    """A new secret of ``kind``; a session lives ``session_days``, an API token ``lifetime`` (None: forever)."""
    prefix = "lls_" if kind == SESSION else "llt_"
    secret = prefix + secrets.token_urlsafe(32)
    if kind == SESSION:
        lifetime = timedelta(days=get_settings().session_days)
    expires = utcnow() + lifetime if lifetime is not None else None
    token = AuthToken(user_id=user.id, kind=kind, name=name, token_hash=_hash_secret(secret), expires_at=expires)
    session.add(token)
    session.flush()
    return IssuedToken(token, secret)


def user_for_secret(session: Session, secret: str, kind: str) -> User:
    token = session.scalar(
        select(AuthToken).where(AuthToken.token_hash == _hash_secret(secret), AuthToken.kind == kind)
    )
    now = utcnow()
    if token is None or token.revoked_at is not None:
        raise Unauthorized("not logged in or the token is invalid")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthorized(_expired_message(token))
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    user = session.get(User, token.user_id)
    if user is None:
        raise Unauthorized("not logged in or the token is invalid")
    return user


def _expired_message(token: AuthToken) -> str:
    if token.kind == SESSION:
        return "the session expired: log in again"
    when = token.expires_at.isoformat(timespec="seconds") if token.expires_at else ""
    return f"this API token expired at {when}: create a new one in Settings"


def change_password(session: Session, user: User, current: str, new: str, client: str,
                    keep_session: str | None) -> None:
    """Replace the password after checking the current one (wrong guesses are throttled as log-ins are), and
    end every browser session of the user but ``keep_session`` (the one asking); API tokens stay valid."""
    rate_limits.check_login(user.email, client)
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        rate_limits.record_login_failure(user.email, client)
        raise InvalidInput("the current password is wrong") from None
    if new == current:
        raise InvalidInput("the new password is the same as the current one: choose another")
    check_password(new, user.email)
    user.password_hash = _hasher.hash(new)
    others = [AuthToken.user_id == user.id, AuthToken.kind == SESSION, AuthToken.revoked_at.is_(None)]
    if keep_session is not None:
        others.append(AuthToken.token_hash != _hash_secret(keep_session))
    session.execute(update(AuthToken).where(*others).values(revoked_at=utcnow()))


def revoke_secret(session: Session, secret: str) -> None:
    token = session.scalar(select(AuthToken).where(AuthToken.token_hash == _hash_secret(secret)))
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()


def list_api_tokens(session: Session, user: User) -> list[AuthToken]:
    return list(session.scalars(
        select(AuthToken)
        .where(AuthToken.user_id == user.id, AuthToken.kind == API, AuthToken.revoked_at.is_(None))
        .order_by(AuthToken.id)
    ))


def revoke_api_token(session: Session, user: User, token_id: int) -> None:
    token = session.get(AuthToken, token_id)
    if token is None or token.user_id != user.id or token.kind != API or token.revoked_at is not None:
        raise NotFound("token not found")
    token.revoked_at = utcnow()
