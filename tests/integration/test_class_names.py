"""Class names are unique within a project ignoring case: "Cat" next to "cat" is refused with a 409 that names
the existing class, and nothing is added."""

from tests.api_client import ClientFactory, signed_up_client
from tests.live_app import LiveApp


def test_a_class_name_differing_only_in_case_is_refused(app: LiveApp, http: ClientFactory) -> None:
    client = signed_up_client(http, "classnames@example.com")
    pid = client.post("/api/v1/projects", json={"name": "Pets"}).raise_for_status().json()["id"]
    client.post(f"/api/v1/projects/{pid}/classes", json={"name": "cat"}).raise_for_status()
    for name in ("Cat", " CAT ", "cat"):
        refused = client.post(f"/api/v1/projects/{pid}/classes", json={"name": name})
        assert refused.status_code == 409, refused.text
        detail = refused.json()["detail"]
        assert "already exists" in detail
        assert name == "cat" or "as 'cat'" in detail, detail
    client.post(f"/api/v1/projects/{pid}/classes", json={"name": "Dog"}).raise_for_status()
    names = [c["name"] for c in client.get(f"/api/v1/projects/{pid}").json()["classes"]]
    assert names == ["cat", "Dog"]
