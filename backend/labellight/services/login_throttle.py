"""Failed log-ins are counted per account and per client address in a moving window; past the limit,
log-in answers 429 until the window has room again, even with the right password.

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


def check(email: str, client: str) -> None:
    """Raise TooManyRequests when this account or this client has used up its failed log-ins."""
    limiter = _limiter()
    for item, scope, key in _keys(email, client):
        if not limiter.test(item, scope, key):
            reset_at = limiter.get_window_stats(item, scope, key).reset_time
            wait = max(1, math.ceil(reset_at - time.time()))
            who = "this account" if scope == "login-account" else "this address"
            raise TooManyRequests(
                f"too many failed log-ins for {who}: try again in {math.ceil(wait / 60)} minute(s)", wait)


def record_failure(email: str, client: str) -> None:
    limiter = _limiter()
    for item, scope, key in _keys(email, client):
        limiter.hit(item, scope, key)
