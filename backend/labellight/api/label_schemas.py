"""Schemas of the labels import and export."""

from pydantic import Field

from labellight.api.schemas import Public


class UnmatchedLabelRow(Public):
    line: int = Field(description="the CSV line (1 is the header) or the JSON entry (from 1)")
    filename: str
    class_name: str
    reason: str


class LabelImportPublic(Public):
    """What a labels file did: every row is matched (and applied) or listed with the reason it was not."""

    rows: int
    matched: int
    labeled: int = Field(description="matched images whose label changed")
    unchanged: int = Field(description="matched images that already had that label")
    classes_created: list[str]
    unmatched_count: int
    unmatched: list[UnmatchedLabelRow] = Field(description="the first 1000 rows not applied")
