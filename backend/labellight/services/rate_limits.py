"""Rate limits in moving windows (QUALITY A8): failed log-ins per account and per client address (past the
limit, log-in answers 429 until the window has room again, even with the right password), and the
requests per user of the routes that run a network in the API process (/predict, /search).

The counts live in the broker's Redis when there is one (shared by every API process), else in this
process's memory (the embedded mode runs one API process)."""

import math
import time
from functools import lru_cache

from limits import RateLimitItem, RateLimitItemPerMinute, storage, strategies

from labellight.config import get_settings
from labellight.services.errors import TooManyRequests

WINDOW_MINUTES = 15
PER_ACCOUNT: RateLimitItem = RateLimitItemPerMinute(5, WINDOW_MINUTES)
PER_CLIENT: RateLimitItem = RateLimitItemPerMinute(30, WINDOW_MINUTES)


@lru_cache
def _limiter() -> strategies.MovingWindowRateLimiter:
    broker = get_settings().resolved_broker_url
    uri = broker if broker.startswith(("redis://", "rediss://")) else "memory://"
    return strategies.MovingWindowRateLimiter(storage.storage_from_string(uri))


def _keys(email: str, client: str) -> list[tuple[RateLimitItem, str, str]]:
    return [(PER_ACCOUNT, "login-account", email), (PER_CLIENT, "login-client", client)]


def _wait_s(limiter: strategies.MovingWindowRateLimiter, item: RateLimitItem, scope: str, key: str) -> int:
    return max(1, math.ceil(limiter.get_window_stats(item, scope, key).reset_time - time.time()))


def check_login(email: str, client: str) -> None:
    """Raise TooManyRequests when this account or this client has used up its failed log-ins."""
    limiter = _limiter()
    for item, scope, key in _keys(email, client):
        if not limiter.test(item, scope, key):
            wait = _wait_s(limiter, item, scope, key)
            who = "this account" if scope == "login-account" else "this address"
            raise TooManyRequests(
                f"too many failed log-ins for {who}: try again in {math.ceil(wait / 60)} minute(s)", wait)


def record_login_failure(email: str, client: str) -> None:
    limiter = _limiter()
    for item, scope, key in _keys(email, client):
        limiter.hit(item, scope, key)


def hit_inference(user_id: int) -> None:
    """Count one /predict or /search request of the user; raise TooManyRequests past the per-minute limit."""
    per_minute = get_settings().inference_requests_per_minute
    item = RateLimitItemPerMinute(per_minute, 1)
    limiter = _limiter()
    if not limiter.hit(item, "inference", str(user_id)):
        raise TooManyRequests(
            f"more than {per_minute} prediction or search requests in a minute "
            f"(LABELLIGHT_INFERENCE_REQUESTS_PER_MINUTE): send several images per /predict request, or wait",
            _wait_s(limiter, item, "inference", str(user_id)))
