"""The upload limits have one definition: the app enforces IngestLimits' defaults unless a setting says otherwise."""

import pytest

from labellight.config import get_settings
from labellight.ingest.limits import IngestLimits
from labellight.services.ingestion import ingest_limits

SETTINGS = ("MAX_IMAGE_PIXELS", "MAX_FILE_BYTES", "MAX_ARCHIVE_ENTRIES", "MAX_ARCHIVE_BYTES")


def test_the_app_enforces_the_default_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTINGS:
        monkeypatch.delenv(f"LABELLIGHT_{name}", raising=False)
    get_settings.cache_clear()
    try:
        assert ingest_limits() == IngestLimits()
        assert IngestLimits().max_archive_bytes == 4 * 2**30
    finally:
        get_settings.cache_clear()


def test_a_setting_overrides_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELLIGHT_MAX_ARCHIVE_BYTES", str(2**30))
    get_settings.cache_clear()
    try:
        assert ingest_limits() == IngestLimits(max_archive_bytes=2**30)
    finally:
        get_settings.cache_clear()
