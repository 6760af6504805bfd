"""Hold a project's pixel-cache lock from a test, as a running ingest holds it."""

from collections.abc import Iterator
from contextlib import contextmanager

from labellight.ingest.pixels import PixelCache
from labellight.storage.keys import pixel_cache_key
from tests.live_app import LiveApp


@contextmanager
def pixel_cache_held(app: LiveApp, project_id: int) -> Iterator[None]:
    """While the block runs, every ingest of the project that has started waits for the lock, as it
    would behind another ingest; jobs can be lined up to run at the same moment."""
    with PixelCache(app.data_dir / "storage" / pixel_cache_key(project_id), size=1).lock():
        yield
