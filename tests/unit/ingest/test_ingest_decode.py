"""decode_image: format allowlist, pixel bombs, truncation, orientation and RGB conversion (QUALITY U1, U4-U6)."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from labellight.ingest.decode import ALLOWED_FORMATS, DecodedImage, ImageRejected, decode_image
from labellight.ingest.hashing import sha256_hex
from labellight.ingest.limits import IngestLimits

LIMITS = IngestLimits()
RED = (255, 0, 0)
BLUE = (0, 0, 255)


def encode(image: Image.Image, image_format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **params)
    return buffer.getvalue()


def noise(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR declares ``width`` x ``height`` 8-bit RGB pixels (the data is a stub)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def pixels(decoded: DecodedImage) -> np.ndarray:
    array = np.asarray(decoded.image)
    assert decoded.image.mode == "RGB"
    assert array.dtype == np.uint8
    assert array.shape == (decoded.height, decoded.width, 3)
    return array


@pytest.mark.parametrize("image_format", sorted(ALLOWED_FORMATS))
def test_every_allowed_format_decodes(image_format: str) -> None:
    decoded = decode_image(encode(noise(33, 21), image_format), LIMITS)

    assert decoded.format == image_format
    assert (decoded.width, decoded.height) == (33, 21)
    pixels(decoded)


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>',
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto showpage\n%%EOF\n",
        b"\xc5\xd0\xd3\xc6" + bytes(28) + b"%!PS-Adobe-3.0 EPSF-3.0\n",  # DOS-binary EPS
        b"",
    ],
    ids=["html", "svg", "pdf", "eps", "eps-binary", "empty"],
)
def test_u4_non_images_renamed_jpg_are_refused_by_the_allowlist(data: bytes) -> None:
    with pytest.raises(ImageRejected) as caught:
        decode_image(data, LIMITS)

    assert "not an image" in caught.value.reason
    assert "format allowlist" in caught.value.reason


def test_u4_a_format_outside_the_allowlist_is_refused_even_when_pillow_reads_it() -> None:
    with pytest.raises(ImageRejected, match="format allowlist"):
        decode_image(encode(noise(8, 8), "PPM"), LIMITS)


@pytest.mark.parametrize("side", [30_000, 10_000, 8_000])
def test_u1_pixel_bombs_are_refused_from_the_header_without_decoding(
    side: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 30000^2 passes Pillow's own error threshold, 10000^2 its warning threshold, 8000^2 only ours.
    loads: list[object] = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: loads.append(image))
    bomb = png_declaring(side, side)
    assert len(bomb) < 200

    tracemalloc.start()
    try:
        with pytest.raises(ImageRejected) as caught:
            decode_image(bomb, LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert caught.value.reason.startswith("image too large")
    assert loads == []
    assert peak < 50 * 2**20


def test_u1_our_pixel_limit_names_the_declared_size() -> None:
    with pytest.raises(ImageRejected) as caught:
        decode_image(encode(noise(40, 30), "PNG"), IngestLimits(max_pixels=1000))

    assert caught.value.reason == "image too large: 40x30 pixels exceeds the limit of 1000"


def test_a_file_over_the_byte_limit_is_refused() -> None:
    data = encode(noise(64, 64), "PNG")

    with pytest.raises(ImageRejected, match="file too large"):
        decode_image(data, IngestLimits(max_file_bytes=len(data) - 1))


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP", "GIF"])
def test_u5_truncated_files_are_refused_with_a_reason(image_format: str) -> None:
    data = encode(noise(128, 96), image_format)

    with pytest.raises(ImageRejected) as caught:
        decode_image(data[: len(data) // 2], LIMITS)

    assert caught.value.reason


def test_u5_truncated_jpeg_says_so() -> None:
    data = encode(noise(128, 96), "JPEG")

    with pytest.raises(ImageRejected, match="corrupt or truncated image"):
        decode_image(data[: len(data) // 2], LIMITS)


def test_u6_exif_orientation_6_rotates_clockwise() -> None:
    source = Image.new("RGB", (40, 20), BLUE)
    source.paste(RED, (0, 0, 20, 20))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6

    decoded = decode_image(encode(source, "JPEG", exif=exif, quality=95), LIMITS)

    assert (decoded.width, decoded.height) == (20, 40)
    array = pixels(decoded).astype(int)
    assert np.abs(array[5, 10] - RED).max() < 40  # the left half is now on top
    assert np.abs(array[35, 10] - BLUE).max() < 40


@pytest.mark.parametrize("image_format", ["JPEG", "TIFF"])
def test_u6_cmyk_becomes_rgb(image_format: str) -> None:
    cmyk_red = Image.new("CMYK", (16, 16), (0, 255, 255, 0))

    array = pixels(decode_image(encode(cmyk_red, image_format), LIMITS)).astype(int)

    assert np.abs(array - RED).max() < 10


@pytest.mark.parametrize("image_format", ["PNG", "TIFF"])
def test_u6_sixteen_bit_grayscale_is_scaled_not_clipped(image_format: str) -> None:
    samples = np.array([[0, 1000, 32768, 65535]], dtype=np.uint16)
    source = Image.fromarray(samples)
    assert source.mode.startswith("I;16")

    array = pixels(decode_image(encode(source, image_format), LIMITS))

    assert array[0, :, 0].tolist() == [0, 4, 128, 255]
    assert (array == array[..., :1]).all()


def test_u6_palette_with_transparency_is_composited_on_white() -> None:
    source = Image.new("P", (8, 8), 0)
    source.putpalette([0, 0, 0, *RED])
    source.paste(1, (0, 0, 4, 8))  # left half opaque red, right half transparent black

    array = pixels(decode_image(encode(source, "PNG", transparency=0), LIMITS))

    assert array[:, :4].tolist() == [[list(RED)] * 4] * 8
    assert array[:, 4:].tolist() == [[[255, 255, 255]] * 4] * 8


@pytest.mark.parametrize(("mode", "colour", "expected"), [
    ("RGBA", (255, 0, 0, 128), (255, 127, 127)),
    ("LA", (0, 0), (255, 255, 255)),
    ("LA", (0, 255), (0, 0, 0)),
])
def test_u6_alpha_is_composited_on_white(mode: str, colour: tuple[int, ...], expected: tuple[int, ...]) -> None:
    array = pixels(decode_image(encode(Image.new(mode, (4, 4), colour), "PNG"), LIMITS)).astype(int)

    assert np.abs(array - expected).max() <= 1


@pytest.mark.parametrize(("mode", "image_format"), [("L", "PNG"), ("L", "JPEG"), ("1", "BMP"), ("1", "TIFF")])
def test_u6_grayscale_and_bilevel_become_gray_rgb(mode: str, image_format: str) -> None:
    source = Image.new(mode, (10, 10), 0)
    source.paste(255 if mode == "L" else 1, (0, 0, 5, 10))

    array = pixels(decode_image(encode(source, image_format), LIMITS))

    assert (array == array[..., :1]).all()
    assert array[:, 0].min() > 200
    assert array[:, -1].max() < 55


def test_u6_animated_gif_gives_its_first_frame_in_rgb() -> None:
    frames = [Image.new("RGB", (12, 12), RED), Image.new("RGB", (12, 12), BLUE)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)

    array = pixels(decode_image(data, LIMITS))

    assert array.reshape(-1, 3).tolist() == [list(RED)] * 144


def test_u6_mpo_from_a_phone_camera_is_a_jpeg() -> None:
    frames = [Image.new("RGB", (12, 8), RED), Image.new("RGB", (12, 8), BLUE)]

    decoded = decode_image(encode(frames[0], "MPO", save_all=True, append_images=frames[1:]), LIMITS)

    assert decoded.format == "JPEG"
    assert np.abs(pixels(decoded).astype(int) - RED).max() < 10


def test_corrupt_exif_is_tolerated_without_a_warning_escaping() -> None:
    # This suite runs with warnings as errors: Pillow's "Corrupt EXIF data" warning must stay inside.
    corrupt_exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff" + b"\x01" * 40

    decoded = decode_image(encode(Image.new("RGB", (20, 10), RED), "JPEG", exif=corrupt_exif), LIMITS)

    assert (decoded.width, decoded.height) == (20, 10)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_pixels"):
        IngestLimits(max_pixels=0)


def test_sha256_hex_is_the_lowercase_hex_digest() -> None:
    assert sha256_hex(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


# The picture as it is meant to be seen, for each EXIF orientation of the stored pixels (EXIF 2.32, tag 0x0112).
UPRIGHT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1, :],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, k=-1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, k=1),
}


@pytest.mark.parametrize("orientation", sorted(UPRIGHT))
def test_u6_every_exif_orientation_is_applied(orientation: int) -> None:
    stored = noise(6, 4)
    exif = Image.Exif()
    exif[0x0112] = orientation

    array = pixels(decode_image(encode(stored, "PNG", exif=exif), LIMITS))

    assert np.array_equal(array, UPRIGHT[orientation](np.asarray(stored)))


def _png_rgb16(samples: np.ndarray) -> bytes:
    """A 16-bit-per-channel RGB PNG (Pillow writes none) holding ``samples`` (height x width x 3)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    height, width, _ = samples.shape
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in samples)
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def test_u6_sixteen_bit_rgb_becomes_eight_bit_rgb() -> None:
    levels = np.array([0, 1000, 32768, 65535], dtype=np.uint16)
    samples = np.stack([levels, levels[::-1], np.full(4, 20000, np.uint16)], axis=-1)[None]

    array = pixels(decode_image(_png_rgb16(samples), LIMITS)).astype(int)

    assert np.abs(array - np.round(samples.astype(float) * 255 / 65535)).max() <= 1


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_u6_animated_png_and_webp_give_their_first_frame_in_rgb(image_format: str) -> None:
    frames = [Image.new("RGB", (12, 12), RED), Image.new("RGB", (12, 12), BLUE)]
    params = {"lossless": True} if image_format == "WEBP" else {}
    data = encode(frames[0], image_format, save_all=True, append_images=frames[1:], duration=100, loop=0, **params)
    assert Image.open(io.BytesIO(data)).n_frames == 2

    array = pixels(decode_image(data, LIMITS))

    assert array.reshape(-1, 3).tolist() == [list(RED)] * 144
