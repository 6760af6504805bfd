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
