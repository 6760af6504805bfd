"""J11: `labellight worker-health` judges a worker by its sweeper's latest report (a file, no database)."""

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from labellight.cli import main
from labellight.config import get_settings
from labellight.jobs.sweeper import SweepReport
from labellight.services import worker_health


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("LABELLIGHT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LABELLIGHT_SWEEP_INTERVAL_SECONDS", "30")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_j11_no_report_is_unhealthy() -> None:
    verdict = worker_health.check()
    assert not verdict.healthy
    assert "has reported" in verdict.reason


def test_j11_a_fresh_report_without_stalled_jobs_is_healthy() -> None:
    worker_health.record(SweepReport(sent=0, running=1, stalled={}), ["cpu", "gpu"], concurrency=2)
    assert worker_health.check().healthy
    assert worker_health.check(os.getpid()).healthy
    main(["worker-health", "--pid", str(os.getpid())])  # returns: exit status 0


def test_j11_stalled_jobs_make_the_worker_unhealthy(capsys: pytest.CaptureFixture[str]) -> None:
    worker_health.record(SweepReport(sent=0, running=0, stalled={7: 650.0}), ["cpu"], concurrency=2)
    with pytest.raises(SystemExit) as exited:
        main(["worker-health"])
    assert exited.value.code == 1
    out = capsys.readouterr().out
    assert "UNHEALTHY" in out
    assert "job 7 for 650 s" in out


def test_j11_a_report_that_stopped_coming_is_unhealthy(data_dir: Path) -> None:
    worker_health.record(SweepReport(sent=0, running=0, stalled={}), ["cpu"], concurrency=1)
    path = data_dir / "workers" / f"{socket.gethostname()}-{os.getpid()}.json"
    state = json.loads(path.read_text())
    path.write_text(json.dumps({**state, "checked_at": state["checked_at"] - 91}))
    verdict = worker_health.check()
    assert not verdict.healthy
    assert "gone or frozen" in verdict.reason
    worker_health.forget()
    assert not path.exists()
