"""The training pixel cache: every image decoded once, at the training resolution, in one file.

The file is raw uint8 rows of ``size * size * 3`` bytes (HWC, RGB), appended in ingest order and
memory-mapped for reading, so pretraining and embedding never decode a JPEG twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

# See thumbnail.py: reduce by an integer factor first, then resample.
_REDUCING_GAP = 3.0


def to_cache_pixels(image: Image.Image, size: int) -> np.ndarray:
    """Resize the shorter side to ``size`` and centre-crop: a ``(size, size, 3)`` uint8 array.

    Resizing only the centred square of the source (``box``) gives the same pixels as resizing
    the whole image and cropping, without resampling the part that is thrown away.
    """
    if size < 1:
        raise ValueError(f"cache size must be positive, got {size}")
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    side = min(rgb.width, rgb.height)
    left = (rgb.width - side) / 2
    top = (rgb.height - side) / 2
    square = rgb.resize(
        (size, size),
        Image.Resampling.BICUBIC,
        box=(left, top, left + side, top + side),
        reducing_gap=_REDUCING_GAP,
    )
    return np.asarray(square, dtype=np.uint8)


class PixelCache:
    """Append-only rows of ``(size, size, 3)`` uint8 pixels in one raw file at ``path``.

    Writers hold ``lock()`` for the whole of an ingest (append, or truncate after a failure);
    ``append`` and ``truncate`` do not take it themselves, because ``flock`` locks taken through
    two descriptors conflict even within one process.
    """

    def __init__(self, path: Path, size: int) -> None:
        if size < 1:
            raise ValueError(f"cache size must be positive, got {size}")
        self.path = Path(path)
        self.size = size
        self.row_shape = (size, size, 3)
        self.row_bytes = size * size * 3

    @property
    def count(self) -> int:
        """Complete rows in the file; a torn trailing row from a crash is not counted."""
        try:
            return self.path.stat().st_size // self.row_bytes
        except FileNotFoundError:
            return 0

    def append(self, rows: np.ndarray) -> int:
        """Write ``rows`` ``(n, size, size, 3)`` uint8 after the last complete row; return the first new index.

        The data is flushed and fsynced before this returns, and any torn trailing bytes a crash
        left behind are overwritten, so row ``i`` is always at byte ``i * row_bytes``.
        """
        if rows.dtype != np.uint8 or rows.ndim != 4 or rows.shape[1:] != self.row_shape:
            raise ValueError(
                f"rows must be uint8 of shape (n, {self.size}, {self.size}, 3), "
                f"got {rows.dtype} {rows.shape}"
            )
        first = self.count
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab+") as f:
            f.truncate(first * self.row_bytes)
            f.write(np.ascontiguousarray(rows).data)
            f.flush()
            os.fsync(f.fileno())
        return first

    def truncate(self, count: int) -> None:
        """Roll the file back to its first ``count`` rows (an ingest that failed half-way).

        Memory maps of the dropped rows must not be read afterwards; readers map only rows the
        database has committed (see ``read(count)``).
        """
        if not 0 <= count <= self.count:
            raise ValueError(f"cannot truncate to {count} rows: the cache holds {self.count}")
        if not self.path.exists():
            return
        with open(self.path, "rb+") as f:
            f.truncate(count * self.row_bytes)
            os.fsync(f.fileno())

    def read(self, count: int | None = None) -> np.ndarray:
        """A read-only ``(count, size, size, 3)`` uint8 memory map of the first ``count`` rows (all by default)."""
        available = self.count
        rows = available if count is None else count
        if not 0 <= rows <= available:
            raise ValueError(f"cannot read {rows} rows: the cache holds {available}")
        if rows == 0:
            return np.empty((0, *self.row_shape), dtype=np.uint8)
        return np.memmap(self.path, dtype=np.uint8, mode="r", shape=(rows, *self.row_shape))

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive inter-process lock (``flock`` on ``<path>.lock``) for the block."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "ab") as lock_file:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)
