"""Read a folder tree of images as classes: each class folder's name labels the images under it.

The rule, applied to the images of one archive or of one folder upload (their paths inside it):

- when every image lies under one and the same top folder (an archive of ``pets/``, a picked folder),
  that folder is the root and is set aside;
- then it is a class tree when every image lies inside a folder (none loose beside the folders); each
  image's class is its first folder (deeper folders belong to it, as torchvision's ImageFolder reads them).
  A single folder of loose images is no class tree (a picked folder of photos is not one class).

Anything else is a plain set of images; ``hint`` then says why the folders were not read as classes.
"""

from collections.abc import Sequence
from dataclasses import dataclass

CLASS_TREE_RULE = ("an archive or folder whose top-level folders each hold images (or one folder holding "
                   "such class folders) is read as classes: each folder's name becomes a class")


@dataclass(frozen=True)
class ClassTree:
    classes: list[str | None]
    """The class folder of each image, in the order given; all None when this is no class tree."""
    hint: str | None = None
    """Why folders that were there were not read as classes (None when read, or when there were none)."""


def path_parts(path: str) -> list[str]:
    return [part for part in path.replace("\\", "/").split("/") if part not in ("", ".", "..")]


def read_class_tree(paths: Sequence[str]) -> ClassTree:
    """The class of each image from its path inside its archive or uploaded folder."""
    parts = [path_parts(p) for p in paths]
    none: list[str | None] = [None] * len(parts)
    if not parts or all(len(p) < 2 for p in parts):
        return ClassTree(none)
    roots = {p[0] for p in parts}
    if len(roots) == 1 and all(len(p) >= 2 for p in parts):
        if all(len(p) == 2 for p in parts):
            return ClassTree(none, f"all images lie in the one folder {parts[0][0]!r}, read as plain images: "
                             f"to label them, put class folders inside it ({CLASS_TREE_RULE})")
        parts = [p[1:] for p in parts]  # one root folder holding the class folders
    loose = sum(1 for p in parts if len(p) < 2)
    if loose:
        return ClassTree(none, f"{loose} image(s) lie beside the folders, not in one, so the folders were "
                         f"not read as classes ({CLASS_TREE_RULE})")
    return ClassTree([p[0] for p in parts])
