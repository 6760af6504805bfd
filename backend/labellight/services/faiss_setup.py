"""FAISS's thread count from the settings, set once when the API or a worker process starts."""

from labellight.config import get_settings
from labellight.index.faiss_threads import set_faiss_threads


def configure_faiss_threads() -> int:
    """Apply ``LABELLIGHT_FAISS_THREADS`` (0: by core count) to this process; returns the count in use."""
    return set_faiss_threads(get_settings().faiss_threads)
