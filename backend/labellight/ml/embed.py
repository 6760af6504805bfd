"""Encoder features for a pixel array: y = f(x) / ||f(x)||, one unit-norm row per image."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from labellight.ml.augment import to_model_input
from labellight.ml.device import autocast, pick_device


def _embed_rows(
    backbone: nn.Module,
    n_rows: int,
    batch: Callable[[int, int], torch.Tensor],
    prepare: Callable[[torch.Tensor], torch.Tensor],
    batch_size: int,
    device: torch.device | None,
) -> np.ndarray:
    """Unit-norm float32 features (N, D) of ``prepare(batch(start, stop))``: rows are read on the
    host, moved to ``device``, then turned into model inputs (B, 3, S, S) there."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if n_rows == 0:
        raise ValueError("pixels holds no images")
    device = device or pick_device()
    backbone.to(device).eval()
    chunks: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, n_rows, batch_size):
            x = prepare(batch(start, min(start + batch_size, n_rows)).to(device))
            with autocast(device):
                features = backbone(x)
            chunks.append(functional.normalize(features.float(), dim=1).cpu().numpy())
    return np.concatenate(chunks, axis=0).astype(np.float32, copy=False)


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

    def batch(start: int, stop: int) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(pixels[start:stop]))

    def prepare(x: torch.Tensor) -> torch.Tensor:
        return to_model_input(x, image_size)

    return _embed_rows(backbone, pixels.shape[0], batch, prepare, batch_size, device)


def embed_float(
    backbone: nn.Module,
    inputs: torch.Tensor,
    *,
    batch_size: int = 256,
    device: torch.device | None = None,
) -> np.ndarray:
    """Like :func:`embed` for model inputs that are already prepared: normalised float (N, 3, S, S)
    (e.g. augmented views). Returns float32 (N, D) L2-normalised rows."""
    if inputs.ndim != 4 or inputs.shape[1] != 3 or not inputs.is_floating_point():
        raise ValueError(f"inputs must be float (N, 3, S, S), got {inputs.dtype} {tuple(inputs.shape)}")
    return _embed_rows(backbone, inputs.shape[0], lambda start, stop: inputs[start:stop], _same, batch_size, device)


def _same(x: torch.Tensor) -> torch.Tensor:
    return x
