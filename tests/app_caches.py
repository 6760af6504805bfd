"""For tests that run the app's code in their own process: forget the cached settings, engine and producer."""

from labellight.config import get_settings
from labellight.db.session import get_engine, get_sessionmaker
from labellight.jobs.transport import get_producer


def clear_app_caches() -> None:
    """After the environment changed (a new data dir): the next call reads settings and connects anew."""
    for cached in (get_settings, get_sessionmaker, get_producer):
        cached.cache_clear()
    get_engine().dispose()
    get_engine.cache_clear()
