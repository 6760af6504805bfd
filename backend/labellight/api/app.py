"""The FastAPI application: REST API under /api/v1, the built SPA at /, security headers, error mapping."""

from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labellight.api.errors import method_not_allowed
from labellight.api.request_metrics import RequestMetrics
from labellight.api.routers import (
    auth,
    images,
    jobs,
    labels,
    models,
    operations,
    projects,
    review,
    tokens,
    upload_sessions,
)
from labellight.config import get_settings
from labellight.jobs.payloads import InvalidParams
from labellight.services.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TooLarge,
    TooManyRequests,
    Unauthorized,
)
from labellight.services.faiss_setup import configure_faiss_threads

FRONTEND_DIST = Path(__file__).resolve().parents[3] / "frontend" / "dist"

ERROR_STATUS: dict[type[Exception], int] = {
    NotFound: 404, Conflict: 409, InvalidInput: 400, Unauthorized: 401, Forbidden: 403, TooLarge: 413,
}

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; "
                               "frame-ancestors 'none'; object-src 'none'",
}


class BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request too large (limit {max_bytes} bytes)")


class BodySizeLimit:
    """Answers 413 for a body over the limit: before reading it when its declared length says so, else as
    soon as the bytes that arrived pass the limit (a chunked body declares no length)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)  # answered 413 by the routes' error handling, or below
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if started:
                raise
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await JSONResponse({"detail": BodyTooLarge(self.max_bytes).detail}, 413)(scope, receive, send)


class SecurityHeaders:
    """Adds the security headers to every HTTP response (a plain ASGI middleware: errors raised while a
    route reads the body reach the route's error handling unchanged)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


def _api_router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")

    @api.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    for module in (auth, tokens, projects, images, labels, upload_sessions, models, jobs, review):
        api.include_router(module.router)
    return api


def _mount_spa(app: FastAPI, dist: Path) -> None:
    if not (dist / "index.html").exists():
        @app.get("/", include_in_schema=False)
        def no_spa() -> Response:
            return Response("The web app is not built: run `npm --prefix frontend run build`.",
                            media_type="text/plain", status_code=503)
        return
    app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(dist / "index.html", headers={"Cache-Control": "no-cache"})


def create_app() -> FastAPI:
    settings = get_settings()
    configure_faiss_threads()  # request threads apply it at their first FAISS call
    app = FastAPI(title="LabelLight", version="0.1.0",
                  description="Label-light image classification: BYOL pretraining, active learning, search.")

    for error, code in ERROR_STATUS.items():
        def handler(_request: Request, exc: Exception, code: int = code) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status_code=code)
        app.add_exception_handler(error, handler)

    def too_many(_request: Request, exc: Exception) -> JSONResponse:
        wait = exc.retry_after if isinstance(exc, TooManyRequests) else 60
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": str(wait)})
    app.add_exception_handler(TooManyRequests, too_many)

    def invalid_params(_request: Request, exc: Exception) -> JSONResponse:
        """Job params that do not fit their kind: a 422 shaped as a request's validation error."""
        errors = exc.errors if isinstance(exc, InvalidParams) else [{"type": "value_error", "loc": [], "msg": str(exc)}]
        return JSONResponse({"detail": errors}, status_code=422)
    app.add_exception_handler(InvalidParams, invalid_params)
    app.add_exception_handler(405, method_not_allowed)

    app.include_router(_api_router())
    app.include_router(operations.router)
    operations.register_collectors()
    _mount_spa(app, FRONTEND_DIST)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(SecurityHeaders)  # on every answer, the body limit's 413 too
    app.add_middleware(RequestMetrics)  # outermost: times every answer
    return app
