"""Image transforms applied to a whole batch at once with independent random parameters per sample.

Every function takes float images ``x`` (B, 3, H, W) in [0, 1] on any device and a CPU
``torch.Generator``; random parameters are drawn on the CPU (reproducible across devices) and
moved to ``x.device`` by :func:`to_device_async`. Choices between "apply" and "skip" use
``torch.where`` over the batch, so nothing synchronises the GPU.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional
from torchvision.ops import roi_align

# ITU-R 601 luma weights, as in torchvision's rgb_to_grayscale.
_LUMA = (0.299, 0.587, 0.114)
# RGB -> YIQ; hue is the angle in the (I, Q) chrominance plane. The inverse is computed once on
# the CPU: on CUDA, torch.linalg.inv checks for singular input and so waits for the device.
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)


def to_device_async(values: torch.Tensor, device: torch.device, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``values`` (a CPU tensor) on ``device`` as ``dtype``, without waiting for the device.

    A plain host-to-CUDA copy from pageable memory synchronises the stream, which would stall
    the CPU until every queued kernel (the previous training step) has run. On CUDA the values
    go through pinned memory with an asynchronous copy instead; elsewhere this is ``Tensor.to``.
    """
    if dtype is not None:
        values = values.to(dtype)
    if device.type == "cuda":
        return values.pin_memory().to(device, non_blocking=True)
    return values.to(device)


def _uniform(generator: torch.Generator, shape: tuple[int, ...], low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=generator)


def _coin(generator: torch.Generator, batch: int, p: float, device: torch.device) -> torch.Tensor:
    """Per-sample Bernoulli(p) as a (B, 1, 1, 1) bool mask on ``device``."""
    return to_device_async(torch.rand(batch, generator=generator) < p, device).view(batch, 1, 1, 1)


def _per_sample(values: torch.Tensor, device: torch.device) -> torch.Tensor:
    return to_device_async(values, device, torch.float32).view(-1, 1, 1, 1)


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """Luma Y = 0.299 R + 0.587 G + 0.114 B; (B, 3, H, W) -> (B, 1, H, W)."""
    r, g, b = x.unbind(dim=1)
    return (_LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b).unsqueeze(1)


def crop_boxes(
    batch: int,
    height: int,
    width: int,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    generator: torch.Generator,
    attempts: int = 10,
) -> torch.Tensor:
    """RandomResizedCrop boxes (B, 4) as continuous (x0, y0, x1, y1) pixel coordinates.

    Same sampling as torchvision: area fraction ~ U(scale), log aspect ~ U(log ratio); the first
    of ``attempts`` draws that fits the image wins, else a centre crop clamped to ``ratio``.
    """
    area = float(height * width)
    target_area = area * _uniform(generator, (batch, attempts), scale[0], scale[1])
    aspect = torch.exp(_uniform(generator, (batch, attempts), math.log(ratio[0]), math.log(ratio[1])))
    w = torch.sqrt(target_area * aspect)
    h = torch.sqrt(target_area / aspect)
    fits = (w <= width) & (h <= height)
    first = fits.float().argmax(dim=1, keepdim=True)
    w = w.gather(1, first).squeeze(1)
    h = h.gather(1, first).squeeze(1)
    in_ratio = width / height
    fallback_w = min(float(width), height * ratio[1]) if in_ratio > ratio[1] else float(width)
    fallback_h = min(float(height), width / ratio[0]) if in_ratio < ratio[0] else float(height)
    any_fit = fits.any(dim=1)
    w = torch.where(any_fit, w, torch.full_like(w, fallback_w))
    h = torch.where(any_fit, h, torch.full_like(h, fallback_h))
    x0 = torch.rand(batch, generator=generator) * (width - w)
    y0 = torch.rand(batch, generator=generator) * (height - h)
    return torch.stack([x0, y0, x0 + w, y0 + h], dim=1)


def random_resized_crop(
    x: torch.Tensor,
    size: int,
    scale: tuple[float, float],
    generator: torch.Generator,
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> torch.Tensor:
    """Crop a random box per sample and resize it to (size, size) bilinearly.

    ``roi_align`` averages several bilinear samples per output pixel when a box is larger than
    the output (adaptive ``sampling_ratio``), which anti-aliases downscaling.
    """
    batch, _, height, width = x.shape
    boxes = crop_boxes(batch, height, width, scale, ratio, generator)
    rois = torch.cat([torch.arange(batch, dtype=torch.float32).unsqueeze(1), boxes], dim=1)
    crops: torch.Tensor = roi_align(
        x, to_device_async(rois, x.device, x.dtype), output_size=(size, size), sampling_ratio=-1, aligned=True
    )
    return crops


def random_horizontal_flip(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Mirror each sample left-right with probability ``p``."""
    return torch.where(_coin(generator, x.shape[0], p, x.device), x.flip(-1), x)


def _adjust_hue(x: torch.Tensor, turns: torch.Tensor) -> torch.Tensor:
    """Rotate chrominance by ``turns`` (B, 1, 1, 1) of a full circle in YIQ space, keeping luma."""
    angle = 2.0 * math.pi * turns.view(-1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    ones, zeros = torch.ones_like(cos), torch.zeros_like(cos)
    rows = [torch.stack(row, -1) for row in ((ones, zeros, zeros), (zeros, cos, -sin), (zeros, sin, cos))]
    rotation = torch.stack(rows, dim=1)
    to_yiq, to_rgb = to_device_async(_RGB_TO_YIQ, x.device), to_device_async(_YIQ_TO_RGB, x.device)
    transform = to_rgb @ rotation @ to_yiq  # (B, 3, 3)
    rotated: torch.Tensor = torch.einsum("bij,bjhw->bihw", transform, x)
    return rotated


def color_jitter(
    x: torch.Tensor,
    brightness: float,
    contrast: float,
    saturation: float,
    hue: float,
    p: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """With probability ``p`` per sample, jitter brightness, contrast, saturation and hue in a
    random per-sample order (as torchvision's ColorJitter), clamping to [0, 1] after each step.

    Factors: brightness, contrast, saturation ~ U(1 - s, 1 + s); hue shift ~ U(-hue, hue) turns.
    """
    batch, device = x.shape[0], x.device
    factors = [
        _per_sample(_uniform(generator, (batch,), 1.0 - s, 1.0 + s), device) for s in (brightness, contrast, saturation)
    ]
    hue_turns = _per_sample(_uniform(generator, (batch,), -hue, hue), device)
    order = to_device_async(torch.argsort(torch.rand(batch, 4, generator=generator), dim=1), device)
    applied = _coin(generator, batch, p, device)
    out = x
    for position in range(4):
        gray = grayscale(out)
        candidates = (
            out * factors[0],
            factors[1] * out + (1 - factors[1]) * gray.mean(dim=(1, 2, 3), keepdim=True),
            factors[2] * out + (1 - factors[2]) * gray,
            _adjust_hue(out, hue_turns),
        )
        step = out
        for op, candidate in enumerate(candidates):
            chosen = (order[:, position] == op).view(batch, 1, 1, 1)
            step = torch.where(chosen, candidate.clamp(0.0, 1.0), step)
        out = step
    return torch.where(applied, out, x)


def random_grayscale(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Replace each sample by its luma (in all three channels) with probability ``p``."""
    return torch.where(_coin(generator, x.shape[0], p, x.device), grayscale(x).expand_as(x), x)


def blur_kernel_size(image_size: int) -> int:
    """Odd kernel of about 10% of the image side (23 px at 224 px, as in BYOL), at least 3."""
    size = max(3, int(0.1 * image_size))
    return size if size % 2 == 1 else size + 1


def gaussian_blur(
    x: torch.Tensor,
    p: float,
    generator: torch.Generator,
    sigma: tuple[float, float] = (0.1, 2.0),
) -> torch.Tensor:
    """With probability ``p`` per sample, blur with a Gaussian of sigma ~ U(sigma) (separable,
    reflect padding, kernel side from :func:`blur_kernel_size`)."""
    batch, channels, height, width = x.shape
    size = min(blur_kernel_size(min(height, width)), 2 * (min(height, width) - 1) + 1)
    sigmas = _uniform(generator, (batch,), sigma[0], sigma[1])
    applied = _coin(generator, batch, p, x.device)
    taps = torch.arange(size, dtype=torch.float32) - size // 2
    kernels = torch.exp(-(taps.unsqueeze(0) ** 2) / (2.0 * sigmas.unsqueeze(1) ** 2))
    kernels = to_device_async(
        (kernels / kernels.sum(dim=1, keepdim=True)).repeat_interleave(channels, dim=0), x.device, x.dtype
    )
    planes = x.reshape(1, batch * channels, height, width)
    pad, groups = size // 2, batch * channels
    vertical = functional.pad(planes, (0, 0, pad, pad), mode="reflect")
    planes = functional.conv2d(vertical, kernels.view(-1, 1, size, 1), groups=groups)
    horizontal = functional.pad(planes, (pad, pad, 0, 0), mode="reflect")
    planes = functional.conv2d(horizontal, kernels.view(-1, 1, 1, size), groups=groups)
    return torch.where(applied, planes.view_as(x), x)


def random_solarize(x: torch.Tensor, p: float, generator: torch.Generator, threshold: float = 0.5) -> torch.Tensor:
    """With probability ``p`` per sample, invert every value at or above ``threshold``."""
    solarized = torch.where(x >= threshold, 1.0 - x, x)
    return torch.where(_coin(generator, x.shape[0], p, x.device), solarized, x)
