"""Start LabelLight for real in subprocesses: migrate, a Celery worker and the API server."""

import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import redis

from tests.process_tree import alive, descendants

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379"


@dataclass
class LiveApp:
    base_url: str
    env: dict[str, str]
    data_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "labellight.cli", *args],
            env=self.env,
            text=True,
            capture_output=True,
            timeout=timeout,
            check=False,
        )

    def start_worker(self) -> subprocess.Popen[bytes]:
        return self.spawn("worker", "worker")

    def spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start ``labellight ARGS`` in its own process group, output appended to ``<data_dir>/<name>.log``;
        ``env`` overrides some of the app's settings for this process."""
        with (self.data_dir / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "labellight.cli", *args],
                env={**self.env, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self.processes[name]

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not become healthy:\n{log.read_text()[-3000:]}")


def _unused_redis_db() -> int:
    """An empty Redis database number, so that concurrent test sessions do not share a broker."""
    numbers = list(range(1, 16))
    random.shuffle(numbers)
    for number in numbers:
        if redis.Redis.from_url(f"{REDIS_URL}/{number}").dbsize() == 0:
            return number
    raise RuntimeError("every Redis database 1-15 holds keys; flush the stale ones")


@contextmanager
def production_services() -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database and a Redis database number for one test session."""
    name = f"labellight_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    redis_db = _unused_redis_db()
    try:
        yield {
            "LABELLIGHT_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
            "LABELLIGHT_BROKER_URL": f"{REDIS_URL}/{redis_db}",
        }
    finally:
        redis.Redis.from_url(f"{REDIS_URL}/{redis_db}").flushdb()
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def live_app(data_dir: Path, extra_env: dict[str, str] | None = None,
             server_env: dict[str, str] | None = None) -> Iterator[LiveApp]:
    """Migrate, start a worker and the API server; ``server_env`` overrides settings of the server only."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELLIGHT_")}
    env.update(
        {
            "LABELLIGHT_DATA_DIR": str(data_dir),
            "LABELLIGHT_JOB_LEASE_SECONDS": "60",
            "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": "2",
            **(extra_env or {}),
        }
    )
    app = LiveApp(f"http://127.0.0.1:{port}", env, data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    migrated = app.cli("migrate")
    if migrated.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{migrated.stderr}")
    try:
        app.start_worker()
        server = app.spawn("server", "serve", "--port", str(port), env=server_env)
        _wait_healthy(app.base_url, server, data_dir / "server.log")
        yield app
    finally:
        for name in list(app.processes):
            app.stop(name)


@contextmanager
def embedded_run(data_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[LiveApp]:
    """``labellight run`` (the embedded mode: it migrates, starts and supervises its worker, serves)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELLIGHT_")}
    env.update({"LABELLIGHT_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "2",
                **(extra_env or {})})
    app = LiveApp(f"http://127.0.0.1:{port}", env, data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    run = app.spawn("run", "run", "--port", str(port))
    try:
        _wait_healthy(app.base_url, run, data_dir / "run.log", timeout=120)
        yield app
    finally:
        family = descendants(run.pid)  # the worker has a group of its own: end it even if `run` hangs
        app.stop("run")
        for pid in filter(alive, family):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
