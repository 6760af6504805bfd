"""Names of uploaded files and archive entries as people see them: printable text, never used as paths."""


def printable(text: str) -> str:
    """``text`` without control characters (NUL, ESC, newline), bidi overrides and other format
    characters, or separators other than the space (Python's ``str.isprintable``)."""
    return "".join(ch for ch in text if ch.isprintable())


def member_display_name(name: str) -> str:
    """An archive entry's path with each part made printable and empty parts dropped; "unnamed" when
    nothing is left. The path is kept (``a/b.png``) so that a report says where in the archive a file was."""
    parts = (printable(part) for part in name.replace("\\", "/").split("/"))
    return "/".join(part for part in parts if part) or "unnamed"


def display_path(name: str, max_length: int = 255) -> str:
    """An uploaded file's relative path (``cats/a.png`` from a picked folder) made printable, cut from the
    front to ``max_length`` so that the base name survives."""
    return member_display_name(name)[-max_length:]
