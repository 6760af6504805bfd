"""The docker compose file is valid and wires the production services together."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


@pytest.mark.slow
def test_compose_validates() -> None:
    validator = shutil.which("docker-compose")
    if validator is None:
        pytest.fail("docker-compose (Debian's compose v1) is needed to validate the file: scripts/setup.sh --test")
    result = subprocess.run([validator, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


def test_compose_services_use_postgres_and_redis() -> None:
    config = yaml.safe_load(COMPOSE.read_text())
    services = config["services"]
    assert {"api", "worker-cpu", "worker-gpu", "postgres", "redis"} <= set(services)
    for name in ("api", "worker-cpu", "worker-gpu"):
        env = services[name]["environment"]
        assert env["LABELLIGHT_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["LABELLIGHT_BROKER_URL"].startswith("redis://")
    assert services["worker-gpu"]["command"][-3:] == ["gpu", "--concurrency", "1"]
    assert services["worker-cpu"]["command"][2:4] == ["--queues", "cpu"]
    for name in ("worker-cpu", "worker-gpu"):
        assert services[name]["healthcheck"]["test"] == ["CMD", "labellight", "worker-health"]


def test_every_long_running_service_has_a_healthcheck() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    one_shot = {name for name, service in services.items() if service.get("restart") == "no"}
    assert one_shot == {"migrate"}
    for name, service in services.items():
        if name in one_shot:
            continue
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert "interval" in check, name
    api_probe = " ".join(services["api"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in api_probe
    assert services["api"]["command"][-1] == "8000"
    assert services["postgres"]["healthcheck"]["test"][-1].startswith("pg_isready")
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_the_api_probe_command_passes_against_the_real_app_and_fails_without_it(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The api's healthcheck command, with the port rewritten, run against the app served by uvicorn."""
    import socket
    import sys
    import threading
    import time

    import uvicorn

    from labellight.api.app import create_app
    from labellight.config import get_settings

    monkeypatch.setenv("LABELLIGHT_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    command = yaml.safe_load(COMPOSE.read_text())["services"]["api"]["healthcheck"]["test"]
    assert command[:3] == ["CMD", "python", "-c"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    probe = [sys.executable, "-c", command[3].replace("127.0.0.1:8000", f"127.0.0.1:{port}")]
    assert subprocess.run(probe, capture_output=True, check=False, timeout=30).returncode != 0  # nothing there
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert subprocess.run(probe, check=False, timeout=30).returncode == 0
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        get_settings.cache_clear()
