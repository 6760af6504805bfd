"""Settings, the account's side: an API token that expires shows when, and a password change refuses a wrong
current password, logs out the other browsers and lets the new password log in. Log-out in the page works
because it sends the session's CSRF token."""

from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.helpers import log_in
from tests.live_app import LiveApp

EMAIL = "account@example.com"
PASSWORD = "correct horse 1"
NEW_PASSWORD = "battery staple 9"


def test_settings_token_expiry_and_password_change(live: LiveApp, page: Page) -> None:
    url = f"{live.base_url}/api/v1"
    httpx.post(f"{url}/auth/signup", json={"email": EMAIL, "password": PASSWORD}).raise_for_status()
    other_browser = httpx.Client(base_url=url)
    other_browser.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).raise_for_status()
    log_in(page, live, EMAIL, PASSWORD, "#/settings")

    page.get_by_test_id("token-name").fill("weekly report")
    page.get_by_test_id("token-lifetime").select_option(label="7 days")
    page.get_by_test_id("token-create").click()
    expect(page.get_by_test_id("token-secret")).to_be_visible()
    row = page.get_by_test_id("token-row").filter(has_text="weekly report")
    expect(row.get_by_test_id("token-expires")).not_to_have_text("never")
    listed = other_browser.get("/tokens").raise_for_status().json()
    expires_at = datetime.fromisoformat(next(t["expires_at"] for t in listed if t["name"] == "weekly report"))
    assert abs(expires_at - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=5)

    page.get_by_test_id("password-current").fill("not my password")
    page.get_by_test_id("password-new").fill(NEW_PASSWORD)
    page.get_by_test_id("password-repeat").fill(NEW_PASSWORD)
    page.get_by_test_id("password-submit").click()
    expect(page.get_by_test_id("error")).to_contain_text("current password is wrong")
    assert other_browser.get("/auth/me").status_code == 200

    page.get_by_test_id("password-current").fill(PASSWORD)
    page.get_by_test_id("password-submit").click()
    expect(page.get_by_test_id("password-changed")).to_be_visible()
    assert other_browser.get("/auth/me").status_code == 401
    other_browser.close()

    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-email")).to_be_visible()
    log_in(page, live, EMAIL, NEW_PASSWORD, "#/settings")
    expect(page.get_by_test_id("token-row").filter(has_text="weekly report")).to_have_count(1)
