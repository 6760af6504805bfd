"""The `labellight` command: create-user, import of a server-side folder, and the schema check of serve."""

import os
import subprocess
import sys
from pathlib import Path

from tests.api_client import ClientFactory, wait_job
from tests.live_app import LiveApp
from tests.synthetic_images import dataset


def test_create_user_then_import_a_folder(app: LiveApp, http: ClientFactory, tmp_path: Path) -> None:
    created = app.cli("create-user", "cli@example.com", "--password", "from the cli")
    assert created.returncode == 0, created.stderr
    assert app.cli("create-user", "cli@example.com", "--password", "from the cli").returncode != 0
    browser = http()
    login = browser.post("/api/v1/auth/login", json={"email": "cli@example.com", "password": "from the cli"})
    assert login.status_code == 200
    csrf = {"X-CSRF-Token": browser.cookies["ll_csrf"]}
    pid = browser.post("/api/v1/projects", json={"name": "Imported"}, headers=csrf).json()["id"]

    folder = tmp_path / "photos"
    for name, kind, data in dataset(per_class=2, seed=5):
        (folder / kind).mkdir(parents=True, exist_ok=True)
        (folder / kind / name).write_bytes(data)
    (folder / "readme.txt").write_text("not imported")
    imported = app.cli("import", str(pid), str(folder))
    assert imported.returncode == 0, imported.stderr
    job_id = int(imported.stdout.split()[3])
    job = wait_job(browser, job_id)
    assert job["state"] == "succeeded"
    assert job["result"]["accepted"] == 6
    # The class subfolders became classes and labeled their images.
    assert sorted(job["result"]["classes_created"]) == ["circle", "square", "triangle"]
    assert job["result"]["labeled"] == 6
    classes = {c["id"]: c["name"] for c in browser.get(f"/api/v1/projects/{pid}").json()["classes"]}
    items = browser.get(f"/api/v1/projects/{pid}/images").json()["items"]
    assert sorted((i["filename"], classes[i["class_id"]]) for i in items) == sorted(
        (name, kind) for name, kind, _ in dataset(per_class=2, seed=5))
    assert app.cli("import", "999999", str(folder)).returncode != 0


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELLIGHT_")}
    env["LABELLIGHT_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "labellight.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "labellight migrate" in result.stderr
