"""Thumbnails, cache pixels and the memory-mapped training pixel cache."""

from __future__ import annotations

import fcntl
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labellight.ingest.pixels import PixelCache, to_cache_pixels
from labellight.ingest.thumbnail import make_thumbnail

SIZE = 8


def rows(count: int, start: int = 0) -> np.ndarray:
    """``count`` distinct rows: row ``i`` is filled with the value ``start + i``."""
    values = np.arange(start, start + count, dtype=np.uint8)
    return np.broadcast_to(values[:, None, None, None], (count, SIZE, SIZE, 3)).copy()


@pytest.mark.parametrize(("size", "expected"), [((400, 200), (160, 80)), ((90, 300), (48, 160))])
def test_thumbnail_is_a_jpeg_fitting_the_box_with_the_aspect_ratio_kept(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    thumbnail = Image.open(io.BytesIO(make_thumbnail(Image.new("RGB", size, (10, 200, 30)))))

    assert thumbnail.format == "JPEG"
    assert thumbnail.size == expected


def test_thumbnail_never_enlarges_and_accepts_other_modes() -> None:
    thumbnail = Image.open(io.BytesIO(make_thumbnail(Image.new("L", (50, 30), 128), size=64)))

    assert thumbnail.size == (50, 30)


def test_thumbnail_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        make_thumbnail(Image.new("RGB", (4, 4)), size=0)


def test_cache_pixels_resize_the_shorter_side_then_crop_the_centre() -> None:
    image = Image.new("RGB", (300, 200), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 50, 200))  # bands outside the centred 200x200 square
    image.paste((0, 255, 0), (250, 0, 300, 200))

    array = to_cache_pixels(image, 64)

    assert array.shape == (64, 64, 3)
    assert array.dtype == np.uint8
    # The bicubic kernel reaches just past the crop, as it would resizing whole then cropping.
    assert np.abs(array[:, 1:-1].astype(int) - (0, 0, 255)).max() <= 2
    assert np.abs(array.astype(int) - (0, 0, 255)).mean() < 1


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA"])
def test_cache_pixels_enlarge_small_images_and_accept_any_mode(mode: str) -> None:
    array = to_cache_pixels(Image.new(mode, (5, 3)), 32)

    assert array.shape == (32, 32, 3)
    assert array.dtype == np.uint8


def test_an_empty_cache_reads_as_zero_rows(tmp_path: Path) -> None:
    cache = PixelCache(tmp_path / "cache.u8", SIZE)

    assert cache.count == 0
    assert cache.read().shape == (0, SIZE, SIZE, 3)
    cache.truncate(0)


def test_append_read_truncate_round_trip(tmp_path: Path) -> None:
    cache = PixelCache(tmp_path / "project" / "cache.u8", SIZE)

    assert cache.append(rows(3)) == 0
    assert cache.append(rows(2, start=3)) == 3
    assert cache.count == 5
    np.testing.assert_array_equal(cache.read(), rows(5))
    np.testing.assert_array_equal(cache.read(2), rows(2))

    cache.truncate(3)

    assert cache.count == 3
    np.testing.assert_array_equal(cache.read(), rows(3))
    assert cache.append(rows(1, start=9)) == 3
    np.testing.assert_array_equal(cache.read()[3], rows(1, start=9)[0])


def test_reads_are_read_only_memory_maps(tmp_path: Path) -> None:
    cache = PixelCache(tmp_path / "cache.u8", SIZE)
    cache.append(rows(2))

    mapped = cache.read()

    assert isinstance(mapped, np.memmap)
    with pytest.raises(ValueError, match="read-only"):
        mapped[0, 0, 0, 0] = 1


def test_a_torn_trailing_row_is_ignored_then_overwritten(tmp_path: Path) -> None:
    cache = PixelCache(tmp_path / "cache.u8", SIZE)
    cache.append(rows(2))
    with open(cache.path, "ab") as f:
        f.write(b"\x07" * 10)  # a crash half-way through a row

    assert cache.count == 2
    assert cache.append(rows(1, start=2)) == 2
    assert cache.path.stat().st_size == 3 * SIZE * SIZE * 3
    np.testing.assert_array_equal(cache.read(), rows(3))


@pytest.mark.parametrize(
    "bad",
    [np.zeros((1, SIZE, SIZE, 3), np.float32), np.zeros((1, SIZE + 1, SIZE, 3), np.uint8),
     np.zeros((SIZE, SIZE, 3), np.uint8)],
    ids=["dtype", "shape", "single-row"],
)
def test_append_refuses_rows_of_the_wrong_kind(tmp_path: Path, bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="rows must be uint8"):
        PixelCache(tmp_path / "cache.u8", SIZE).append(bad)


def test_truncate_and_read_refuse_counts_beyond_the_file(tmp_path: Path) -> None:
    cache = PixelCache(tmp_path / "cache.u8", SIZE)
    cache.append(rows(2))

    with pytest.raises(ValueError, match="holds 2"):
        cache.truncate(3)
    with pytest.raises(ValueError, match="holds 2"):
        cache.read(3)


def test_lock_is_exclusive_until_released(tmp_path: Path) -> None:
    cache = PixelCache(tmp_path / "cache.u8", SIZE)
    lock_path = tmp_path / "cache.u8.lock"

    # flock locks taken through another open file conflict, as another process's would.
    with cache.lock(), open(lock_path, "rb") as other, pytest.raises(BlockingIOError):
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    with open(lock_path, "rb") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
