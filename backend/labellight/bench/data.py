"""The benchmark's input: a ``train/<class>/*`` + ``test/<class>/*`` folder (or archive of one), and the
simulated annotator that answers from the hidden train labels."""

from __future__ import annotations

import hashlib
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


class BenchInputError(ValueError):
    """The input folder or archive is not a usable train/test tree; the message says why."""


@dataclass(frozen=True)
class LabeledFile:
    path: Path
    label: str


@dataclass(frozen=True)
class BenchData:
    """The class names (sorted) and the labeled train and test files."""

    name: str
    classes: list[str]
    train: list[LabeledFile]
    test: list[LabeledFile]


@contextmanager
def open_bench_input(source: Path) -> Iterator[BenchData]:
    """A folder is read in place; an archive is unpacked to a temporary folder removed afterwards."""
    if source.is_dir():
        yield read_tree(source)
        return
    if not source.is_file() or not source.name.endswith(ARCHIVE_SUFFIXES):
        raise BenchInputError(f"{source} is neither a folder nor a .tar/.tar.gz/.tgz archive")
    with tempfile.TemporaryDirectory(prefix="labellight-bench-input-") as tmp:
        with tarfile.open(source) as archive:
            archive.extractall(tmp, filter="data")
        yield read_tree(_tree_root(Path(tmp), source))


def _tree_root(unpacked: Path, source: Path) -> Path:
    """The folder holding train/ and test/: the archive's top level or its single top folder."""
    if (unpacked / "train").is_dir():
        return unpacked
    tops = [p for p in unpacked.iterdir() if p.is_dir()]
    if len(tops) == 1:
        return tops[0]
    raise BenchInputError(f"{source} holds no train/ folder at its top level or in a single top folder")


def read_tree(root: Path) -> BenchData:
    """Validate ``root/train/<class>/*`` and ``root/test/<class>/*`` and list their images."""
    train, test = (_read_split(root, split) for split in ("train", "test"))
    train_classes, test_classes = sorted(train), sorted(test)
    if train_classes != test_classes:
        only_train = sorted(set(train_classes) - set(test_classes))
        only_test = sorted(set(test_classes) - set(train_classes))
        raise BenchInputError(f"train and test classes differ: only in train {only_train}, only in test {only_test}")
    if len(train_classes) < 2:
        raise BenchInputError(f"{root}: the benchmark needs at least 2 classes, found {len(train_classes)}")
    return BenchData(root.name, train_classes, _flatten(train), _flatten(test))


def _read_split(root: Path, split: str) -> dict[str, list[Path]]:
    folder = root / split
    if not folder.is_dir():
        raise BenchInputError(f"{root} has no {split}/ folder (expected {split}/<class>/<image>)")
    by_class = {d.name: sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
                for d in sorted(folder.iterdir()) if d.is_dir() and not d.name.startswith(".")}
    by_class = {name: files for name, files in by_class.items() if files}
    if not by_class:
        raise BenchInputError(f"{folder} holds no class folders with images")
    return by_class


def _flatten(by_class: dict[str, list[Path]]) -> list[LabeledFile]:
    return [LabeledFile(path, label) for label in sorted(by_class) for path in by_class[label]]


def file_sha256(path: Path) -> str:
    """The content address the app gives an ingested file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Annotator:
    """Answers "what class is this image?" from hidden labels, like a person using the app would.

    ``truth`` maps image ids to class ids; images it does not know are never answered.
    """

    def __init__(self, truth: dict[int, int]) -> None:
        self._truth = dict(truth)

    def label(self, image_ids: list[int]) -> dict[int, list[int]]:
        """The given images grouped by their true class id: ``{class_id: [image_id, ...]}``."""
        unknown = [i for i in image_ids if i not in self._truth]
        if unknown:
            raise KeyError(f"the annotator was asked about unknown images: {unknown[:10]}")
        answers: dict[int, list[int]] = {}
        for image_id in image_ids:
            answers.setdefault(self._truth[image_id], []).append(image_id)
        return answers

    def truth_of(self, image_id: int) -> int:
        return self._truth[image_id]
