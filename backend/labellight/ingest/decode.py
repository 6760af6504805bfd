"""Decode one uploaded image safely: format allowlist, pixel limit, full load, RGB uint8.

The order matters. The header is sniffed only by the allowlisted plugins (an EPS, SVG or HTML file
renamed ``.jpg`` never reaches a parser that could run it), the declared size is checked before a
single pixel is allocated (pixel bombs), and only then is the image fully decoded, which is what
detects a truncated file.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from labellight.ingest.errors import IngestRejected
from labellight.ingest.limits import IngestLimits

ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"})
_NOT_AN_IMAGE = "not an image (format allowlist: JPEG, PNG, WebP, BMP, TIFF, GIF)"
# Phone cameras write MPO files: a JPEG whose first picture is an ordinary JPEG. Pillow's JPEG
# plugin opens them as "MPO"; they are JPEGs to the user.
_FORMAT_ALIASES = {"MPO": "JPEG"}
# Pillow keeps 16-bit samples in these modes; "I" is its historical mode for 16-bit PNG/TIFF data.
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_WHITE = (255, 255, 255)


class ImageRejected(IngestRejected):
    """The bytes are not an acceptable image; ``reason`` says why."""


@dataclass
class DecodedImage:
    """A fully decoded image: ``image`` is mode RGB with EXIF orientation applied.

    ``width`` and ``height`` are the size after orientation; ``format`` is one of ``ALLOWED_FORMATS``.
    """

    image: Image.Image
    format: str
    width: int
    height: int


def decode_image(data: bytes, limits: IngestLimits) -> DecodedImage:
    """Decode ``data`` into an RGB image, or raise ``ImageRejected`` saying what is wrong.

    GIF and other multi-frame files give their first frame.
    """
    if len(data) > limits.max_file_bytes:
        raise ImageRejected(f"file too large: {len(data)} bytes exceeds the limit of {limits.max_file_bytes}")
    with _pillow_warnings_ignored(), _open_allowed(data) as opened:
        image_format = _FORMAT_ALIASES.get(opened.format or "", opened.format or "")
        if image_format not in ALLOWED_FORMATS:
            raise ImageRejected(_NOT_AN_IMAGE)
        _check_pixels(opened.size, limits)
        _load_oriented(opened)
        rgb = _to_rgb(opened)
    return DecodedImage(image=rgb, format=image_format, width=rgb.width, height=rgb.height)


def declared_pixels(data: bytes) -> int:
    """Width x height as the header declares them, read without decoding a pixel (0 for bytes that are
    not an allowlisted image: decoding them later says what is wrong)."""
    try:
        with _pillow_warnings_ignored(), _open_allowed(data) as opened:
            width, height = opened.size
    except ImageRejected:
        return 0
    return max(width, 0) * max(height, 0)


@contextlib.contextmanager
def _pillow_warnings_ignored() -> Iterator[None]:
    """Pillow warns about untrusted input it can still read (DecompressionBombWarning, corrupt EXIF,
    malformed MPO). Those are facts about the file, not about our code: the pixel limit is what decides,
    and a warning must neither reach the caller nor fail a -W error run. (catch_warnings swaps
    process-wide filters: decode from one thread per process, as workers do.)"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def _open_allowed(data: bytes) -> ImageFile.ImageFile:
    """Open lazily (header only), letting only the allowlisted format plugins look at the bytes."""
    try:
        return Image.open(io.BytesIO(data), formats=sorted(ALLOWED_FORMATS))
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"image too large: {exc}") from None
    except UnidentifiedImageError:
        raise ImageRejected(_NOT_AN_IMAGE) from None
    except MemoryError:
        raise
    except Exception as exc:  # a hostile header can make a plugin raise anything
        raise ImageRejected(f"corrupt image header: {exc}") from None


def _check_pixels(size: tuple[int, int], limits: IngestLimits) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageRejected(f"empty image: {width}x{height} pixels")
    if width * height > limits.max_pixels:
        raise ImageRejected(
            f"image too large: {width}x{height} pixels exceeds the limit of {limits.max_pixels}"
        )


def _load_oriented(image: ImageFile.ImageFile) -> None:
    """Decode every pixel of the current frame (a truncated file fails here), then apply EXIF orientation."""
    try:
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
    except MemoryError:
        raise
    except Exception as exc:  # decoders report corrupt data as OSError, SyntaxError, ValueError...
        raise ImageRejected(f"corrupt or truncated image: {exc}") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB uint8: 16-bit scaled (not clipped), alpha composited on white."""
    if image.mode in _SIXTEEN_BIT_MODES:
        image = _sixteen_bit_to_l(image)
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        return _composite_on_white(image.convert("RGBA"))
    try:
        return image.convert("RGB")
    except ValueError:
        raise ImageRejected(f"unsupported colour mode: {image.mode}") from None


def _sixteen_bit_to_l(image: Image.Image) -> Image.Image:
    """Map 0..65535 onto 0..255 with rounding: value / 257, as 65535 / 255 == 257."""
    samples = np.clip(np.asarray(image), 0, 65535).astype(np.uint32)
    return Image.fromarray(((samples + 128) // 257).astype(np.uint8))


def _composite_on_white(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGB", rgba.size, _WHITE)
    background.paste(rgba, (0, 0), rgba)
    return background
