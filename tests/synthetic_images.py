"""Images with a class structure, made on the fly: coloured shapes on noisy backgrounds."""

import io
import random
import zipfile

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ("circle", "square", "triangle")
COLOURS = {"circle": (220, 40, 40), "square": (40, 180, 60), "triangle": (40, 80, 220)}


def shape_image(kind: str, seed: int, size: int = 48) -> Image.Image:
    rng = random.Random(seed)
    background = tuple(rng.randint(90, 160) for _ in range(3))
    image = Image.new("RGB", (size, size), background)  # type: ignore[arg-type]
    draw = ImageDraw.Draw(image)
    r = rng.randint(size // 5, size // 3)
    cx, cy = rng.randint(r, size - r), rng.randint(r, size - r)
    jitter = tuple(min(255, max(0, c + rng.randint(-30, 30))) for c in COLOURS[kind])
    if kind == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=jitter)  # type: ignore[arg-type]
    elif kind == "square":
        draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=jitter)  # type: ignore[arg-type]
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=jitter)  # type: ignore[arg-type]
    for _ in range(size * 2):
        x, y = rng.randrange(size), rng.randrange(size)
        image.putpixel((x, y), tuple(rng.randint(0, 255) for _ in range(3)))
    return image


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def dataset(per_class: int, seed: int = 0, fmt: str = "PNG") -> list[tuple[str, str, bytes]]:
    """(file name, class, bytes) for ``per_class`` images of each class; names say the class."""
    ext = {"PNG": "png", "JPEG": "jpg"}[fmt]
    return [
        (f"{kind}_{seed}_{i:03d}.{ext}", kind, encode(shape_image(kind, seed * 100_000 + i * 7 + j), fmt))
        for j, kind in enumerate(CLASSES)
        for i in range(per_class)
    ]


def zip_of(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return buffer.getvalue()


def noise_image(size: int = 48, seed: int = 0) -> Image.Image:
    """Uniform colour noise: nothing like any shape image (an out-of-distribution query)."""
    rng = random.Random(seed)
    return Image.frombytes("RGB", (size, size), bytes(rng.randrange(256) for _ in range(size * size * 3)))


WHITE_SHAPES = ("disc", "square", "triangle", "plus")


def white_shapes(n: int, side: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` white shapes on black, class i % 4, each at a random centre and size (a sixth to
    two fifths of the side). Position and size are nuisances the augmentations randomise."""
    rng = np.random.default_rng(seed)
    pixels = np.zeros((n, side, side, 3), np.uint8)
    labels = np.arange(n) % len(WHITE_SHAPES)
    for i, label in enumerate(labels):
        image = Image.new("RGB", (side, side))
        draw = ImageDraw.Draw(image)
        r = rng.uniform(0.2, 0.4) * side
        x, y = rng.uniform(r, side - r, 2)
        shape = WHITE_SHAPES[label]
        if shape == "disc":
            draw.ellipse((x - r, y - r, x + r, y + r), fill="white")
        elif shape == "square":
            draw.rectangle((x - r, y - r, x + r, y + r), fill="white")
        elif shape == "triangle":
            draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill="white")
        else:
            w = r / 3
            draw.rectangle((x - r, y - w, x + r, y + w), fill="white")
            draw.rectangle((x - w, y - r, x + w, y + r), fill="white")
        pixels[i] = np.asarray(image)
    return pixels, labels
