"""Encoder features for a pixel array: y = f(x) / ||f(x)||, one unit-norm row per image."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from labellight.ml.augment import to_model_input
from labellight.ml.device import autocast, pick_device


def embed(
    backbone: nn.Module,
    pixels: np.ndarray,
    image_size: int,
    *,
    batch_size: int = 256,
    device: torch.device | None = None,
) -> np.ndarray:
    """Embed uint8 images (N, H, W, 3) into float32 (N, D) L2-normalised rows.

    Images are resized to ``image_size`` without augmentation (:func:`to_model_input`). The
    backbone is moved to ``device`` (default :func:`pick_device`) and left in eval mode (never
    toggled back, so concurrent callers sharing a cached module cannot see it in train mode); it
    runs under ``inference_mode``. On CPU rows are computed in fp32, so repeated calls give
    identical results; on CUDA under bf16 autocast.
    """
    if pixels.ndim != 4 or pixels.shape[-1] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be a uint8 array (N, H, W, 3), got {pixels.dtype} {pixels.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = device or pick_device()
    backbone.to(device).eval()
    chunks: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, pixels.shape[0], batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(pixels[start : start + batch_size])).to(device)
            with autocast(device):
                features = backbone(to_model_input(batch, image_size))
            chunks.append(functional.normalize(features.float(), dim=1).cpu().numpy())
    if not chunks:
        raise ValueError("pixels holds no images")
    return np.concatenate(chunks, axis=0).astype(np.float32, copy=False)
