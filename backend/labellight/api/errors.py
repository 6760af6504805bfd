"""One error model for every answer that is not a success, and which answers each group of routes declares."""

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel


class ErrorPublic(BaseModel):
    """What went wrong, in words that say what to change (validation errors, 422, list their fields instead)."""

    detail: str


_MEANINGS = {
    400: "the request cannot be done as sent: the message says what to change",
    401: "not logged in, or the token is invalid",
    403: "not allowed (a missing CSRF header, or a server setting)",
    404: "not found, or not yours",
    409: "clashes with the current state (of the project, a job or an upload)",
    413: "too large: the message names the limit",
    429: "too many attempts, or a per-user quota is full: the message names the limit; Retry-After says when to retry",
}


def answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entry of a router or route that may answer ``codes`` with an ErrorPublic."""
    return {code: {"model": ErrorPublic, "description": _MEANINGS[code]} for code in codes}


PROJECT_ROUTES = answers(400, 401, 403, 404, 409, 429)
"""What any route of a signed-in user may answer besides success and 422 (429: a per-user quota or rate)."""


def invalid_query(name: str, value: str, message: str) -> RequestValidationError:
    """A 422 for a query parameter whose form the schema cannot state, shaped as FastAPI's own."""
    return RequestValidationError([{"type": "value_error", "loc": ("query", name), "msg": message, "input": value}])


def method_not_allowed(request: Request, _exc: Exception) -> JSONResponse:
    """405 whose Allow header lists every method of the path (Starlette names only the first route's)."""
    allowed = sorted({method for route in request.app.router.routes if isinstance(route, APIRoute)
                      and route.path_regex.match(request.url.path) for method in route.methods or ()})
    return JSONResponse({"detail": f"{request.method} is not allowed here; use {', '.join(allowed)}"}, 405,
                        headers={"Allow": ", ".join(allowed)})
