"""Accounts, sessions, CSRF, tokens and project isolation."""

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.api_client import ClientFactory, signed_up_client
from tests.live_app import LiveApp, live_app


def test_a1_routes_need_authentication(app: LiveApp, http: ClientFactory) -> None:
    anonymous = http()
    assert anonymous.get("/api/v1/health").json() == {"status": "ok"}
    for method, path in (
        ("GET", "/api/v1/projects"),
        ("POST", "/api/v1/projects"),
        ("GET", "/api/v1/jobs/1"),
        ("GET", "/api/v1/auth/me"),
        ("GET", "/api/v1/projects/1/images/1/thumbnail"),
    ):
        assert anonymous.request(method, path).status_code == 401, path
    bogus = http(headers={"Authorization": "Bearer llt_nope"})
    assert bogus.get("/api/v1/projects").status_code == 401


def test_a4_browser_session_with_csrf(app: LiveApp, http: ClientFactory) -> None:
    browser = http()
    assert (
        browser.post("/api/v1/auth/signup", json={"email": "Web@Example.com", "password": "short"}).status_code == 400
    )
    created = browser.post("/api/v1/auth/signup", json={"email": "Web@Example.com", "password": "long enough"})
    assert created.status_code == 201
    assert created.json()["email"] == "web@example.com"
    assert "httponly" in created.headers["set-cookie"].lower()
    again = httpx.post(f"{app.base_url}/api/v1/auth/signup",
                       json={"email": "web@example.com", "password": "another long one"})
    assert again.status_code == 409
    assert browser.get("/api/v1/auth/me").json()["email"] == "web@example.com"
    assert browser.post("/api/v1/projects", json={"name": "p"}).status_code == 403
    csrf = {"X-CSRF-Token": browser.cookies["ll_csrf"]}
    assert browser.post("/api/v1/projects", json={"name": "p"}, headers=csrf).status_code == 201
    assert browser.post("/api/v1/auth/logout", headers=csrf).status_code == 204
    assert browser.get("/api/v1/projects").status_code == 401
    wrong = httpx.post(f"{app.base_url}/api/v1/auth/login", json={"email": "web@example.com", "password": "nope nope"})
    assert wrong.status_code == 401
    right = httpx.post(
        f"{app.base_url}/api/v1/auth/login", json={"email": "web@example.com", "password": "long enough"}
    )
    assert right.status_code == 200


def test_a3_tokens_are_revocable(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "tokens@example.com")
    created = client.post("/api/v1/tokens", json={"name": "ci"}).json()
    second = http(headers={"Authorization": f"Bearer {created['token']}"})
    assert second.get("/api/v1/projects").status_code == 200
    listed = client.get("/api/v1/tokens").json()
    assert {t["name"] for t in listed} == {"tests", "ci"}
    assert all("token" not in t for t in listed)
    assert client.delete(f"/api/v1/tokens/{created['id']}").status_code == 204
    assert second.get("/api/v1/projects").status_code == 401


def _session_cookies(response: httpx.Response) -> dict[str, str]:
    return dict(response.cookies.items())


def _by_hand(cookies: dict[str, str], csrf: str | None = None) -> dict[str, str]:
    """Headers that send ``cookies`` as a browser would (also cookies a jar keeps back, e.g. Secure over http)."""
    headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}
    return headers | ({"X-CSRF-Token": csrf} if csrf is not None else {})


def test_a4_csrf_token_is_bound_to_its_session(app: LiveApp) -> None:
    """A CSRF token of another session is refused even when it also arrives as the CSRF cookie (a cookie
    planted by a sibling subdomain or a man in the middle of plain http), on any change and on logout."""
    url = f"{app.base_url}/api/v1"
    credentials = {"email": "bound@example.com", "password": "correct horse 1"}
    mine = _session_cookies(httpx.post(f"{url}/auth/signup", json=credentials).raise_for_status())
    planted = _session_cookies(httpx.post(f"{url}/auth/login", json=credentials).raise_for_status())["ll_csrf"]
    forged = _by_hand({"ll_session": mine["ll_session"], "ll_csrf": planted}, csrf=planted)
    refused = httpx.post(f"{url}/projects", json={"name": "forged"}, headers=forged)
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["detail"]
    assert httpx.post(f"{url}/auth/logout", headers=forged).status_code == 403
    assert httpx.post(f"{url}/auth/logout", headers=_by_hand(mine)).status_code == 403
    assert httpx.get(f"{url}/auth/me", headers=_by_hand(mine)).status_code == 200  # still logged in
    assert httpx.get(f"{url}/projects", headers=_by_hand(mine)).json() == []  # nothing made
    own = _by_hand(mine, csrf=mine["ll_csrf"])
    assert httpx.post(f"{url}/projects", json={"name": "mine"}, headers=own).status_code == 201
    assert httpx.post(f"{url}/auth/logout", headers=own).status_code == 204
    assert httpx.get(f"{url}/auth/me", headers=_by_hand(mine)).status_code == 401


def test_a4_secure_cookies_use_the_host_prefix(tmp_path: Path) -> None:
    """Behind HTTPS the cookies are __Host- (Secure, Path=/, no Domain); names without the prefix are ignored."""
    with live_app(tmp_path / "secure", {"LABELLIGHT_COOKIE_SECURE": "true"}) as app:
        url = f"{app.base_url}/api/v1"
        signed_up = httpx.post(f"{url}/auth/signup", json={"email": "https@example.com",
                                                           "password": "correct horse 1"}).raise_for_status()
        set_cookies = signed_up.headers.get_list("set-cookie")
        assert sorted(c.split("=", 1)[0] for c in set_cookies) == ["__Host-ll_csrf", "__Host-ll_session"]
        for cookie in set_cookies:
            attributes = [a.strip().lower() for a in cookie.split(";")[1:]]
            assert "secure" in attributes, cookie
            assert "path=/" in attributes, cookie
            assert not any(a.startswith("domain") for a in attributes), cookie
        cookies = _session_cookies(signed_up)
        csrf = cookies["__Host-ll_csrf"]
        unprefixed = _by_hand({"ll_session": cookies["__Host-ll_session"]}, csrf=csrf)
        assert httpx.post(f"{url}/projects", json={"name": "p"}, headers=unprefixed).status_code == 401
        assert httpx.post(f"{url}/projects", json={"name": "p"}, headers=_by_hand(cookies, csrf)).status_code == 201
        logged_out = httpx.post(f"{url}/auth/logout", headers=_by_hand(cookies, csrf))
        assert logged_out.status_code == 204
        cleared = logged_out.headers.get_list("set-cookie")
        assert sorted(c.split("=", 1)[0] for c in cleared) == ["__Host-ll_csrf", "__Host-ll_session"]
        assert all("secure" in c.lower() for c in cleared)
        assert httpx.get(f"{url}/auth/me", headers=_by_hand(cookies)).status_code == 401


def test_a3_api_tokens_may_expire(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "expiry@example.com")
    for days in (0, -1, 3651, "soon"):
        refused = client.post("/api/v1/tokens", json={"name": "bad", "expires_in_days": days})
        assert refused.status_code == 422, days
    created = client.post("/api/v1/tokens", json={"name": "short", "expires_in_days": 0.0001}).json()  # 8.6 s
    expires_at = datetime.fromisoformat(created["expires_at"])
    assert 0 < (expires_at - datetime.fromisoformat(created["created_at"])).total_seconds() <= 9
    bearer = http(headers={"Authorization": f"Bearer {created['token']}"})
    assert bearer.get("/api/v1/projects").status_code == 200
    listed = {t["name"]: t["expires_at"] for t in client.get("/api/v1/tokens").json()}
    assert listed == {"tests": None, "short": created["expires_at"]}
    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 0.5)
    expired = bearer.get("/api/v1/projects")
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]
    assert client.get("/api/v1/projects").status_code == 200  # a token without expiry goes on


def test_a2_other_users_ids_answer_404(app: LiveApp, http: ClientFactory) -> None:
    owner = signed_up_client(http, "owner@example.com")
    other = signed_up_client(http, "other@example.com")
    pid = owner.post("/api/v1/projects", json={"name": "Mine"}).json()["id"]
    class_id = owner.post(f"/api/v1/projects/{pid}/classes", json={"name": "a"}).json()["id"]
    assert owner.post(f"/api/v1/projects/{pid}/classes", json={"name": "a"}).status_code == 409
    job = owner.post(f"/api/v1/projects/{pid}/uploads", files=[("files", ("x.png", b"not an image"))]).json()
    probes = [
        ("GET", f"/api/v1/projects/{pid}"),
        ("DELETE", f"/api/v1/projects/{pid}"),
        ("GET", f"/api/v1/projects/{pid}/images"),
        ("GET", f"/api/v1/projects/{pid}/jobs"),
        ("GET", f"/api/v1/jobs/{job['id']}"),
        ("POST", f"/api/v1/jobs/{job['id']}/cancel"),
        ("DELETE", f"/api/v1/projects/{pid}/classes/{class_id}"),
        ("GET", f"/api/v1/projects/{pid}/model"),
        ("GET", f"/api/v1/projects/{pid}/suggestions"),
        ("POST", f"/api/v1/projects/{pid}/train"),
        ("POST", f"/api/v1/projects/{pid}/pretrain"),
    ]
    for method, path in probes:
        assert other.request(method, path).status_code == 404, path
    assert other.put(f"/api/v1/projects/{pid}/labels", json={"image_ids": [1], "class_id": None}).status_code == 404
    assert other.post(f"/api/v1/projects/{pid}/predict", files=[("files", ("a.png", b"x"))]).status_code == 404
    assert other.get("/api/v1/projects").json() == []
    assert owner.get(f"/api/v1/projects/{pid}").status_code == 200


OUT_OF_RANGE_IDS = (2**31, 2**63, 2**64)  # past PostgreSQL's integer ids, SQLite's, and any 64-bit integer


def test_a2_ids_out_of_range_answer_404_or_422_on_every_route(app: LiveApp, http: ClientFactory) -> None:
    """Every route with an id in its path, and ids in a query or a body: a number no database row can
    have is a client error, never a 500 from an overflowing query."""
    owner = signed_up_client(http, "ranges@example.com")
    pid = owner.post("/api/v1/projects", json={"name": "Ranges"}).json()["id"]
    valid = {"project_id": pid}
    routes = [(method.upper(), path) for path, item in owner.get("/openapi.json").json()["paths"].items()
              for method in item if "_id}" in path]
    assert len(routes) >= 30
    for method, path in routes:
        names = [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("_id}")]
        for huge_name in names:
            for huge in OUT_OF_RANGE_IDS:
                url = path
                for name in names:
                    url = url.replace(f"{{{name}}}", str(huge if name == huge_name else valid.get(name, 1)))
                status = owner.request(method, url).status_code
                assert status in (404, 405, 422), f"{method} {url}: {status}"
    for huge in OUT_OF_RANGE_IDS:
        for query in (f"images?class_id={huge}", f"predictions/review?class_id={huge}",
                      f"predictions?image_ids={huge}", f"suggestions?exclude={huge}"):
            assert owner.get(f"/api/v1/projects/{pid}/{query}").status_code == 422, query
        for body in ({"image_ids": [huge], "class_id": None}, {"image_ids": [1], "class_id": huge}):
            assert owner.put(f"/api/v1/projects/{pid}/labels", json=body).status_code == 422, body
