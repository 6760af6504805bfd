"""Turning an uploaded query image into model input: validated and decoded like an ingested image."""

import threading

import numpy as np

from labellight.ingest.decode import ImageRejected, decode_image
from labellight.ingest.pixels import to_cache_pixels
from labellight.services.errors import InvalidInput
from labellight.services.ingestion import ingest_limits

# decode_image changes the process-wide warning filters while it runs; the API calls it from a thread pool.
_decode_lock = threading.Lock()


def query_pixels(named_files: list[tuple[str, bytes]], size: int) -> np.ndarray:
    """(N, size, size, 3) uint8 pixels of uploaded images; a bad file rejects the whole request."""
    if not named_files:
        raise InvalidInput("send at least one image")
    pixels = []
    for name, data in named_files:
        try:
            with _decode_lock:
                decoded = decode_image(data, ingest_limits())
        except ImageRejected as exc:
            raise InvalidInput(f"{name}: {exc.reason}") from None
        pixels.append(to_cache_pixels(decoded.image, size))
    return np.stack(pixels)
