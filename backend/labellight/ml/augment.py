"""BYOL's two asymmetric augmentation pipelines, batched on tensors, and the plain model input.

Grill et al. 2020, appendix B (table 6): both views get a random resized crop, a horizontal
flip (p 0.5), colour jitter (0.4, 0.4, 0.2, 0.1; p 0.8) and grayscale (p 0.2); the first view
is always blurred and never solarized, the second is blurred with p 0.1 and solarized with
p 0.2. Randomness is independent per sample and per view.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional

from labellight.ml import batched_transforms as transforms

# ImageNet channel statistics: the normalisation every model input shares (training and inference).
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
# Below this side the crop keeps at least 20% of the image: 8% of a 32 px image leaves
# too little signal to match across views.
_TINY_IMAGE_SIDE = 64


@dataclass(frozen=True)
class ViewPipeline:
    """The parameters of one view's pipeline; defaults are BYOL's (table 6), the two views differ
    only in ``blur_p`` and ``solarize_p``. Jitter strengths: brightness, contrast, saturation as
    factors ~ U(1 - s, 1 + s), hue as a shift ~ U(-h, h) of a full turn."""

    blur_p: float
    solarize_p: float
    flip_p: float = 0.5
    jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.2, 0.1)
    jitter_p: float = 0.8
    grayscale_p: float = 0.2


VIEW_1 = ViewPipeline(blur_p=1.0, solarize_p=0.0)
VIEW_2 = ViewPipeline(blur_p=0.1, solarize_p=0.2)


def to_float_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3, H, W) in [0, 1]; float (B, 3, H, W) passes through."""
    if images.ndim != 4:
        raise ValueError(f"expected a batch of images (4 dims), got shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        if images.shape[-1] != 3:
            raise ValueError(f"uint8 images must be (B, H, W, 3), got {tuple(images.shape)}")
        return images.permute(0, 3, 1, 2).float().div_(255.0)
    if images.is_floating_point():
        if images.shape[1] != 3:
            raise ValueError(f"float images must be (B, 3, H, W), got {tuple(images.shape)}")
        return images.float()
    raise ValueError(f"images must be uint8 (B, H, W, 3) or float (B, 3, H, W), got {images.dtype}")


def normalize(x: torch.Tensor) -> torch.Tensor:
    """(x - mean) / std per channel for float images (B, 3, H, W) in [0, 1]."""
    mean = transforms.to_device_async(torch.tensor(_MEAN, dtype=x.dtype), x.device).view(1, 3, 1, 1)
    std = transforms.to_device_async(torch.tensor(_STD, dtype=x.dtype), x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def to_model_input(pixels_uint8: torch.Tensor, image_size: int) -> torch.Tensor:
    """Deterministic model input for embedding and inference.

    uint8 (B, H, W, 3) (or float (B, 3, H, W) in [0, 1]) -> normalised float (B, 3, S, S),
    resized with anti-aliased bilinear interpolation when H, W differ from S = ``image_size``.
    """
    if image_size < 1:
        raise ValueError(f"image_size must be >= 1, got {image_size}")
    x = to_float_images(pixels_uint8)
    if x.shape[-2:] != (image_size, image_size):
        x = functional.interpolate(
            x, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False
        )
    return normalize(x)


class ByolAugment:
    """Callable producing BYOL's two views of a batch.

    Random resized crop of area ``crop_scale`` (default 0.08-1, or 0.2-1 up to 64 px where 8%
    leaves too little to match) and aspect 3/4-4/3, then each view's :class:`ViewPipeline`.

    ``augment(images) -> (v1, v2)``: images uint8 (B, H, W, 3) or float (B, 3, H, W) in [0, 1]
    on any device; each view is normalised float (B, 3, S, S) on the same device.
    ``generator`` (CPU) holds all the randomness; its state can be saved to resume exactly.
    """

    def __init__(
        self,
        image_size: int,
        *,
        crop_scale: tuple[float, float] | None = None,
        seed: int = 0,
        views: tuple[ViewPipeline, ViewPipeline] = (VIEW_1, VIEW_2),
    ) -> None:
        if image_size < 8:
            raise ValueError(f"image_size must be >= 8, got {image_size}")
        if crop_scale is None:
            crop_scale = (0.2, 1.0) if image_size <= _TINY_IMAGE_SIDE else (0.08, 1.0)
        if not 0.0 < crop_scale[0] <= crop_scale[1] <= 1.0:
            raise ValueError(f"crop_scale must satisfy 0 < low <= high <= 1, got {crop_scale}")
        self.image_size = image_size
        self.crop_scale = crop_scale
        self.views = views
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            x = to_float_images(images)
            return self.view(x, self.views[0]), self.view(x, self.views[1])

    def view(self, x: torch.Tensor, pipeline: ViewPipeline) -> torch.Tensor:
        """One augmented, normalised view (B, 3, S, S) of float images (B, 3, H, W) in [0, 1]."""
        g = self.generator
        x = transforms.random_resized_crop(x, self.image_size, self.crop_scale, g)
        x = transforms.random_horizontal_flip(x, pipeline.flip_p, g)
        brightness, contrast, saturation, hue = pipeline.jitter
        x = transforms.color_jitter(x, brightness, contrast, saturation, hue, p=pipeline.jitter_p, generator=g)
        x = transforms.random_grayscale(x, pipeline.grayscale_p, g)
        x = transforms.gaussian_blur(x, pipeline.blur_p, g)
        x = transforms.random_solarize(x, pipeline.solarize_p, g)
        return normalize(x)
