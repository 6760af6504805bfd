"""Where bytes live. Local disk today; the interface is small so an S3-compatible store can follow."""

from labellight.config import get_settings
from labellight.storage.local import LocalStorage


def get_storage() -> LocalStorage:
    return LocalStorage(get_settings().storage_dir)
