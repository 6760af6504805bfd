"""A6/A8/A10: log-in throttling, the password and email policy, and sign-up open, by invitation or closed."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_client import ClientFactory
from tests.live_app import LiveApp, live_app


def _signup(base_url: str, email: str, password: str = "correct horse 1", **extra: str) -> httpx.Response:
    return httpx.post(f"{base_url}/api/v1/auth/signup", json={"email": email, "password": password, **extra})


def _login(base_url: str, email: str, password: str) -> httpx.Response:
    return httpx.post(f"{base_url}/api/v1/auth/login", json={"email": email, "password": password})


def test_a8_failed_logins_are_throttled_per_account(app: LiveApp, http: ClientFactory) -> None:
    assert _signup(app.base_url, "throttled@example.com").status_code == 201
    assert _signup(app.base_url, "bystander@example.com").status_code == 201
    for _ in range(5):
        assert _login(app.base_url, "throttled@example.com", "wrong guess 1").status_code == 401
    blocked = _login(app.base_url, "throttled@example.com", "correct horse 1")
    assert blocked.status_code == 429
    assert "too many failed log-ins" in blocked.json()["detail"]
    assert 60 <= int(blocked.headers["Retry-After"]) <= 15 * 60
    assert _login(app.base_url, "bystander@example.com", "correct horse 1").status_code == 200


def test_a10_password_and_email_policy(app: LiveApp) -> None:
    weak = _signup(app.base_url, "weak@example.com", "password123")
    assert weak.status_code == 400
    assert "too easy to guess" in weak.json()["detail"]
    assert _signup(app.base_url, "short@example.com", "abc12").status_code == 400
    bad_address = _signup(app.base_url, "someone@localhost")
    assert bad_address.status_code == 400
    assert "valid email address" in bad_address.json()["detail"]
    assert _signup(app.base_url, "Mixed.Case@Example.COM").json()["email"] == "mixed.case@example.com"
    assert httpx.get(f"{app.base_url}/api/v1/auth/options").json() == {"signup": "open"}


@pytest.fixture(scope="module")
def invite_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    data_dir: Path = tmp_path_factory.mktemp("labellight-invite")
    with live_app(data_dir, {"LABELLIGHT_SIGNUP": "invite"}) as app:
        yield app


def test_a10_signup_by_invitation(invite_app: LiveApp) -> None:
    url = invite_app.base_url
    assert httpx.get(f"{url}/api/v1/auth/options").json() == {"signup": "invite"}
    without = _signup(url, "guest@example.com")
    assert without.status_code == 403
    assert "invite code" in without.json()["detail"]
    assert _signup(url, "guest@example.com", invite="lli_made_up").status_code == 403
    made = invite_app.cli("invite", "--days", "1")
    assert made.returncode == 0, made.stderr
    code = made.stdout.strip()
    assert code.startswith("lli_")
    assert _signup(url, "guest@example.com", invite=code).status_code == 201
    reused = _signup(url, "second@example.com", invite=code)
    assert reused.status_code == 403
    assert "used or expired" in reused.json()["detail"]
    assert _login(url, "second@example.com", "correct horse 1").status_code == 401  # nothing half-made


def test_a10_signup_closed(tmp_path: Path) -> None:
    with live_app(tmp_path / "closed", {"LABELLIGHT_SIGNUP": "closed"}) as app:
        assert httpx.get(f"{app.base_url}/api/v1/auth/options").json() == {"signup": "closed"}
        refused = _signup(app.base_url, "nobody@example.com")
        assert refused.status_code == 403
        assert "closed" in refused.json()["detail"]
        made = app.cli("create-user", "operator@example.com", "--password", "from the operator")
        assert made.returncode == 0, made.stderr
        assert _login(app.base_url, "operator@example.com", "from the operator").status_code == 200


def test_a10_password_change_ends_other_sessions(app: LiveApp, http: ClientFactory) -> None:
    url = "/api/v1/auth/password"
    here = http()
    assert here.post("/api/v1/auth/signup", json={"email": "changer@example.com",
                                                  "password": "correct horse 1"}).status_code == 201
    elsewhere = http()
    assert elsewhere.post("/api/v1/auth/login", json={"email": "changer@example.com",
                                                      "password": "correct horse 1"}).status_code == 200
    csrf = {"X-CSRF-Token": here.cookies["ll_csrf"]}
    api_token = here.post("/api/v1/tokens", json={"name": "script"}, headers=csrf).json()["token"]
    change = {"current_password": "correct horse 1", "new_password": "battery staple 9"}
    assert here.post(url, json=change).status_code == 403  # a change like any other: CSRF first
    wrong = here.post(url, json={**change, "current_password": "not my password"}, headers=csrf)
    assert wrong.status_code == 400
    assert "current password is wrong" in wrong.json()["detail"]
    weak = here.post(url, json={**change, "new_password": "password123"}, headers=csrf)
    assert weak.status_code == 400
    assert "too easy to guess" in weak.json()["detail"]
    assert elsewhere.get("/api/v1/auth/me").status_code == 200  # refused changes end nothing
    assert here.post(url, json=change, headers=csrf).status_code == 204
    assert here.get("/api/v1/auth/me").json()["email"] == "changer@example.com"
    assert elsewhere.get("/api/v1/auth/me").status_code == 401
    assert httpx.get(f"{app.base_url}/api/v1/projects",
                     headers={"Authorization": f"Bearer {api_token}"}).status_code == 200
    assert _login(app.base_url, "changer@example.com", "correct horse 1").status_code == 401
    assert _login(app.base_url, "changer@example.com", "battery staple 9").status_code == 200
