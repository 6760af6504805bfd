"""Turning an uploaded query image into model input: validated and decoded like an ingested image."""

import threading

import numpy as np

from labellight.config import get_settings
from labellight.ingest.decode import ImageRejected, declared_pixels, decode_image
from labellight.ingest.pixels import to_cache_pixels
from labellight.services.errors import InvalidInput, TooLarge
from labellight.services.ingestion import ingest_limits

# decode_image changes the process-wide warning filters while it runs; the API calls it from a thread pool.
_decode_lock = threading.Lock()


def query_pixels(named_files: list[tuple[str, bytes]], size: int) -> np.ndarray:
    """(N, size, size, 3) uint8 pixels of uploaded images; a bad file rejects the whole request."""
    if not named_files:
        raise InvalidInput("send at least one image")
    budget = get_settings().max_query_pixels
    with _decode_lock:
        total = sum(declared_pixels(data) for _, data in named_files)
    if total > budget:
        raise TooLarge(f"these images hold {total / 1e6:.1f} million pixels, more than one request may "
                       f"(LABELLIGHT_MAX_QUERY_PIXELS={budget}): send fewer or smaller images")
    pixels = []
    for name, data in named_files:
        try:
            with _decode_lock:
                decoded = decode_image(data, ingest_limits())
        except ImageRejected as exc:
            raise InvalidInput(f"{name}: {exc.reason}") from None
        pixels.append(to_cache_pixels(decoded.image, size))
    return np.stack(pixels)
