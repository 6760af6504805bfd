"""Class colours: grey means "unlabeled" on the map and in the grids, so no class may be grey."""

import colorsys

import pytest

from labellight.services.projects import PALETTE


@pytest.mark.parametrize("colour", PALETTE)
def test_no_class_colour_is_grey(colour: str) -> None:
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    _, _, saturation = colorsys.rgb_to_hls(r, g, b)
    assert saturation > 0.2, f"{colour} reads as grey, the colour of unlabeled images"


def test_class_colours_are_distinct() -> None:
    assert len(set(PALETTE)) == len(PALETTE)
