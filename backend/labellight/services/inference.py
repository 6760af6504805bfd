"""Query embeddings in the API process: the backbone cached per version, and concurrent /predict and
/search requests of one backbone sharing forward passes (:class:`labellight.ml.micro_batch.MicroBatcher`).

Routes are plain functions, so FastAPI runs them in its thread pool: the waiting and the forward pass
happen there, never on the event loop."""

import threading
from functools import lru_cache

import numpy as np
from prometheus_client import Counter

from labellight.config import get_settings
from labellight.db.models import Backbone
from labellight.ml.embed import embed
from labellight.ml.micro_batch import MicroBatcher
from labellight.services.model_store import backbone_module_of

FORWARD_PASSES = Counter("labellight_inference_forward_passes", "Forward passes of query images in the API "
                         "process (concurrent requests share one)")
IMAGES = Counter("labellight_inference_images", "Query images embedded in the API process")
_batchers_lock = threading.Lock()
REQUESTS = Counter("labellight_inference_requests", "Requests whose images were embedded in the API process")


def embed_queries(backbone: Backbone, pixels: np.ndarray) -> np.ndarray:
    """Unit-norm embeddings (N, D) of uint8 query pixels (N, H, W, 3) under ``backbone``, computed in one
    forward pass with the queries of other requests that arrive within the batching window."""
    key = (backbone.project_id, backbone.version, str(backbone.config["backbone"]),
           bool(backbone.config.get("small_images", True)), int(backbone.config["image_size"]), pixels.shape[1:])
    with _batchers_lock:  # concurrent first requests must get one batcher, not one each
        batcher = _batcher(*key)
    REQUESTS.inc()
    return batcher(pixels)


@lru_cache(maxsize=16)
def _batcher(project_id: int, version: int, name: str, small_images: bool, image_size: int,
             _pixel_shape: tuple[int, ...]) -> MicroBatcher:
    """One batcher per backbone version and query pixel shape. The module is loaded (once, cached by
    model_store) inside the run: runs of one batcher never overlap, so concurrent first requests load it once."""
    settings = get_settings()

    def run(pixels: np.ndarray) -> np.ndarray:
        module = backbone_module_of(project_id, version, name, small_images)
        vectors = embed(module, pixels, image_size, batch_size=settings.inference_max_batch)
        FORWARD_PASSES.inc()
        IMAGES.inc(len(pixels))
        return vectors

    return MicroBatcher(run, max_wait_s=settings.inference_batch_wait_ms / 1000.0,
                        max_rows=settings.inference_max_batch)
