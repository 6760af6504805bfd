"""FAISS's and BLAS's thread counts from the settings, set once when the API or a worker process starts."""

from labellight.common.threads import set_blas_threads
from labellight.config import get_settings
from labellight.index.faiss_threads import set_faiss_threads


def configure_faiss_threads() -> int:
    """Apply ``LABELLIGHT_FAISS_THREADS`` and ``LABELLIGHT_BLAS_THREADS`` (0: by core count) to this
    process; returns FAISS's count."""
    settings = get_settings()
    set_blas_threads(settings.blas_threads)
    return set_faiss_threads(settings.faiss_threads)
