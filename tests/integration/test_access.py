"""Accounts, sessions, CSRF, tokens and project isolation."""

import httpx

from tests.api_client import ClientFactory, signed_up_client
from tests.live_app import LiveApp


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
