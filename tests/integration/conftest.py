"""A live LabelLight per storage mode: embedded (SQLite + file broker) and production (PostgreSQL + Redis)."""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_client import ClientFactory
from tests.live_app import LiveApp, live_app, production_services

MODES = ("embedded", "production")


@pytest.fixture(scope="module", params=MODES)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    data_dir: Path = tmp_path_factory.mktemp(f"labellight-{request.param}")
    with ExitStack() as stack:
        env = stack.enter_context(production_services()) if request.param == "production" else {}
        # Classifier versions in these tests come from explicit training only (test_job_recovery covers auto).
        # A module's APP_ENV adds its own settings (e.g. projects started from scratch).
        module_env = getattr(request.module, "APP_ENV", {})
        yield stack.enter_context(live_app(data_dir, {**env, "LABELLIGHT_AUTO_TRAIN_EVERY": "0", **module_env}))


@contextmanager
def _client_factory(app: LiveApp) -> Iterator[ClientFactory]:
    made: list[httpx.Client] = []

    def make(**kwargs: Any) -> httpx.Client:
        client = httpx.Client(base_url=app.base_url, timeout=120, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def http(app: LiveApp) -> Iterator[ClientFactory]:
    """Makes HTTP clients for the live app and closes them after the test."""
    with _client_factory(app) as make:
        yield make


@pytest.fixture(scope="module")
def clients(app: LiveApp) -> Iterator[ClientFactory]:
    """Makes HTTP clients for the live app and closes them after the module (for module-scoped set-ups)."""
    with _client_factory(app) as make:
        yield make
