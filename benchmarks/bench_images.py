"""The images a throughput benchmark reads: an ImageFolder tree, a subset of its files, and the app's
pixel cache filled from exactly those files.

The tree comes from a dataset archive (``<name>/<split>/<class>/<id>.png``, as in
../shared/datasets), a folder, or, when neither is at hand (a bare GPU machine), synthetic PNGs
written once so that the benchmark still runs.
"""

from __future__ import annotations

import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from torchvision.datasets import ImageFolder

from labellight.ingest.pixels import PixelCache, to_cache_pixels

REPO = Path(__file__).resolve().parent.parent
# Where the dataset archive is looked for when none is named: beside the checkout, or inside it.
DEFAULT_ARCHIVES = (
    REPO.parent / "shared" / "datasets" / "cifar10_5k.tar.gz",
    REPO / "shared" / "datasets" / "cifar10_5k.tar.gz",
)
_SYNTHETIC_CLASSES = 10


@dataclass(frozen=True)
class BenchImages:
    """``root``: the ImageFolder tree; ``indices``: the subset's positions in ``ImageFolder(root)``'s
    samples; ``paths``: their files in that order; ``source``: where they came from, in words."""

    root: Path
    indices: list[int]
    paths: list[Path]
    source: str


def _train_split(folder: Path) -> Path:
    """``folder/train`` when the folder holds splits, else the folder itself."""
    return folder / "train" if (folder / "train").is_dir() else folder


def _unpack(archive: Path, workdir: Path) -> Path:
    """Unpack ``archive`` under ``workdir`` once (a marker file says it is complete); the tree's root."""
    target = workdir / archive.name.removesuffix(".tar.gz").removesuffix(".tgz")
    marker = target / ".unpacked"
    if not marker.exists():
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
        marker.touch()
    entries = [p for p in target.iterdir() if p.is_dir()]
    return _train_split(entries[0] if len(entries) == 1 else target)


def _write_synthetic(folder: Path, count: int, side: int) -> Path:
    """``count`` PNGs of random coloured shapes on random backgrounds in 10 class folders."""
    root = folder / f"synthetic_{count}_{side}px"
    marker = root / ".complete"
    if marker.exists():
        return root
    rng = np.random.default_rng(0)
    for i in range(count):
        label = i % _SYNTHETIC_CLASSES
        image = Image.new("RGB", (side, side), tuple(int(c) for c in rng.integers(0, 256, 3)))
        draw = ImageDraw.Draw(image)
        x0, y0 = (int(v) for v in rng.integers(0, side // 2, 2))
        x1, y1 = (int(v) for v in rng.integers(side // 2, side, 2))
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if label % 2 else draw.rectangle)((x0, y0, x1, y1), fill=fill)
        class_dir = root / f"class_{label}"
        class_dir.mkdir(parents=True, exist_ok=True)
        image.save(class_dir / f"{i:05d}.png")
    marker.touch()
    return root


def locate(data: Path | None, workdir: Path, *, synthetic_count: int, synthetic_side: int = 32) -> tuple[Path, str]:
    """The ImageFolder root to read and a description of it.

    ``data``: an archive (.tar.gz) or a folder; None looks for cifar10_5k in ../shared/datasets
    (then shared/datasets) and falls back to synthetic images.
    """
    if data is None:
        found = next((archive for archive in DEFAULT_ARCHIVES if archive.exists()), None)
        if found is None:
            root = _write_synthetic(workdir, synthetic_count, synthetic_side)
            return root, f"synthetic shapes ({synthetic_count} PNGs, {synthetic_side} px): no dataset archive found"
        data = found
    if not data.exists():
        raise SystemExit(f"--data {data}: no such file or folder")
    if data.is_dir():
        return _train_split(data), str(data)
    if not data.name.endswith((".tar.gz", ".tgz")):
        raise SystemExit(f"--data {data}: expected a folder or a .tar.gz archive")
    return _unpack(data, workdir), str(data)


def subset(root: Path, count: int, source: str) -> BenchImages:
    """``count`` images spread evenly over ``ImageFolder(root)``'s samples (so over its classes)."""
    samples = ImageFolder(root).samples
    if count < 1:
        raise SystemExit(f"--images must be >= 1, got {count}")
    if count > len(samples):
        raise SystemExit(f"--images {count}: {root} holds only {len(samples)} images")
    indices = sorted({int(i) for i in np.linspace(0, len(samples) - 1, count).round()})
    return BenchImages(root, indices, [Path(samples[i][0]) for i in indices], source)


def fill_pixel_cache(paths: list[Path], cache_path: Path, side: int) -> tuple[np.ndarray, float]:
    """Decode ``paths`` into a fresh pixel cache at ``cache_path`` as ingest does; the memory-mapped
    rows (N, side, side, 3) and the seconds the fill took (a one-time cost, paid at upload)."""
    cache_path.unlink(missing_ok=True)
    started = time.perf_counter()
    rows = []
    for path in paths:
        with Image.open(path) as image:
            rows.append(to_cache_pixels(image, side))
    cache = PixelCache(cache_path, side)
    cache.append(np.stack(rows))
    return cache.read(), time.perf_counter() - started


def image_side(paths: list[Path]) -> int:
    """The shorter side of the first image: the pixel cache's side when the images share a size."""
    with Image.open(paths[0]) as image:
        return min(image.size)
