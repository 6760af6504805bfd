"""API tokens for REST clients: create (the secret is shown once, optionally with an expiry), list, revoke."""

from datetime import timedelta

from fastapi import APIRouter, status

from labellight.api.deps import CurrentUser, SessionDep
from labellight.api.errors import PROJECT_ROUTES
from labellight.api.ids import PathId
from labellight.api.schemas import TokenCreate, TokenCreated, TokenPublic
from labellight.services import accounts

router = APIRouter(prefix="/tokens", tags=["tokens"], responses=PROJECT_ROUTES)


@router.get("")
def list_tokens(user: CurrentUser, session: SessionDep) -> list[TokenPublic]:
    return [TokenPublic.model_validate(t) for t in accounts.list_api_tokens(session, user)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, user: CurrentUser, session: SessionDep) -> TokenCreated:
    lifetime = timedelta(days=body.expires_in_days) if body.expires_in_days is not None else None
    issued = accounts.issue_token(session, user, accounts.API, body.name, lifetime)
    token = issued.token
    return TokenCreated(id=token.id, name=token.name, created_at=token.created_at, last_used_at=None,
                        expires_at=token.expires_at, token=issued.secret)


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: PathId, user: CurrentUser, session: SessionDep) -> None:
    accounts.revoke_api_token(session, user, token_id)
