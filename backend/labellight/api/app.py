"""The FastAPI application: REST API under /api/v1, the built SPA at /, security headers, error mapping."""

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from labellight.api.routers import auth, images, jobs, models, projects, review, tokens, upload_sessions
from labellight.config import get_settings
from labellight.services.errors import Conflict, InvalidInput, NotFound, Unauthorized
from labellight.services.faiss_setup import configure_faiss_threads

FRONTEND_DIST = Path(__file__).resolve().parents[3] / "frontend" / "dist"

ERROR_STATUS: dict[type[Exception], int] = {
    NotFound: 404, Conflict: 409, InvalidInput: 400, Unauthorized: 401,
}

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; "
                               "frame-ancestors 'none'; object-src 'none'",
}


class BodySizeLimit:
    """Answers 413 before reading a body whose declared length is over the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_bytes:
                response = JSONResponse({"detail": f"request too large (limit {self.max_bytes} bytes)"}, 413)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _api_router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")

    @api.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    for module in (auth, tokens, projects, images, upload_sessions, models, jobs, review):
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

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.include_router(_api_router())
    _mount_spa(app, FRONTEND_DIST)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    return app
