"""Reading class folders and labels files: the rules the upload form and the docs state."""

import json

import pytest

from labellight.ingest.class_tree import read_class_tree
from labellight.ingest.label_file import LabelFileRejected, read_label_file


def test_top_level_folders_are_classes() -> None:
    tree = read_class_tree(["cat/a.png", "dog/b.png", "dog/deeper/c.png"])
    assert tree.classes == ["cat", "dog", "dog"]
    assert tree.hint is None


def test_one_root_holding_class_folders_is_set_aside() -> None:
    tree = read_class_tree(["pets/cat/a.png", "pets/dog/b.png"])
    assert tree.classes == ["cat", "dog"]


def test_no_folders_is_no_tree_and_no_hint() -> None:
    assert read_class_tree(["a.png", "b.png"]).classes == [None, None]
    assert read_class_tree(["a.png"]).hint is None


def test_a_single_folder_of_images_is_not_a_class() -> None:
    tree = read_class_tree(["photos/a.png", "photos/b.png"])
    assert tree.classes == [None, None]
    assert tree.hint is not None
    assert "one folder" in tree.hint


def test_loose_images_beside_folders_stop_the_tree_with_a_hint() -> None:
    tree = read_class_tree(["cat/a.png", "b.png"])
    assert tree.classes == [None, None]
    assert tree.hint is not None
    assert "beside the folders" in tree.hint
    tree = read_class_tree(["pets/cat/a.png", "pets/b.png"])
    assert tree.classes == [None, None]
    assert tree.hint is not None


def test_csv_with_header_and_base_names() -> None:
    rows = read_label_file("l.csv", b"filename,class\ncats/a.png,cat\n\nb.png, Dog \n")
    assert [(r.filename, r.class_name, r.line) for r in rows] == [("a.png", "cat", 2), ("b.png", " Dog ", 4)]
    rows = read_label_file("l.csv", b"\xef\xbb\xbfFile,Label,extra\na.png,cat,1\n")
    assert [(r.filename, r.class_name) for r in rows] == [("a.png", "cat")]


@pytest.mark.parametrize(("data", "says"), [
    (b"a.png,cat\n", "first line must name its columns"),
    (b"filename,class\na.png\n", "line 2"),
    (b"filename,class\na.png,\n", "empty"),
    (b"filename,class\n", "no rows"),
    (b"\xff\xfe", "UTF-8"),
    (b'{"a.png": 3}', "text"),
    (b'[1]', "object"),
    (b'{"a.png": "cat"', "not valid JSON"),
    (b'"x"', "list"),
])
def test_malformed_labels_files_say_what_to_fix(data: bytes, says: str) -> None:
    with pytest.raises(LabelFileRejected) as caught:
        read_label_file("labels.json" if data.startswith(b'"') else "labels.csv", data)
    assert says in caught.value.reason


def test_json_mapping_and_export_shape() -> None:
    rows = read_label_file("l.json", json.dumps({"a.png": "cat"}).encode())
    assert [(r.filename, r.class_name) for r in rows] == [("a.png", "cat")]
    exported = [{"filename": "b.png", "sha256": "00", "class": "dog", "labeled_at": None}]
    rows = read_label_file("labels.json", json.dumps(exported).encode())
    assert [(r.filename, r.class_name) for r in rows] == [("b.png", "dog")]
