"""Pretrained by default: the ImageNet weights come with the installed app and are found with no setting; the
weights-file setting overrides them and LABELLIGHT_PRETRAINED=false turns the pretrained start off; continued
pretraining trains at the frozen start's input size on a CPU where the pixel cache allows it."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from labellight.config import get_settings
from labellight.ml.backbone_init import WeightsArchitecture, weights_architecture
from labellight.ml.backbones import EFFICIENTNET_LITE0
from labellight.ml.imagenet_weights import INPUT_SIZE, installed_weights
from labellight.ml.pretrain import preset
from labellight.services.pretrained_start import input_size, server_weights

LITE0 = WeightsArchitecture(EFFICIENTNET_LITE0, small_images=False)


@pytest.fixture
def settings_from_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Settings read afresh from an environment without LabelLight variables; the test may set some."""
    for name in ("LABELLIGHT_PRETRAINED", "LABELLIGHT_PRETRAINED_WEIGHTS"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_the_installed_app_has_imagenet_weights_for_efficientnet_lite0() -> None:
    found = installed_weights()
    assert found is not None
    assert found.is_file()
    assert weights_architecture(found) == LITE0


def test_the_server_starts_from_the_installed_weights_with_no_setting(
        settings_from_env: pytest.MonkeyPatch) -> None:
    assert get_settings().pretrained_weights is None
    assert server_weights() == installed_weights()


def test_the_weights_file_setting_overrides_the_installed_weights(
        settings_from_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    own = tmp_path / "own.pth"
    settings_from_env.setenv("LABELLIGHT_PRETRAINED_WEIGHTS", str(own))
    get_settings.cache_clear()
    assert server_weights() == own
    # An operator who turns the pretrained start off keeps a file they named.
    settings_from_env.setenv("LABELLIGHT_PRETRAINED", "false")
    get_settings.cache_clear()
    assert server_weights() == own


def test_turning_the_pretrained_start_off_means_scratch(settings_from_env: pytest.MonkeyPatch) -> None:
    settings_from_env.setenv("LABELLIGHT_PRETRAINED", "false")
    get_settings.cache_clear()
    assert server_weights() is None


def test_the_default_cache_holds_the_pretrained_networks_input_size(settings_from_env: pytest.MonkeyPatch) -> None:
    assert get_settings().cache_image_size >= INPUT_SIZE


def test_the_frozen_start_embeds_an_imagenet_stem_at_its_input_size_and_a_small_stem_at_the_cache_side() -> None:
    assert input_size(LITE0, 64) == input_size(LITE0, 256) == INPUT_SIZE
    assert input_size(WeightsArchitecture("resnet18", small_images=True), 48) == 48


@pytest.mark.parametrize(("cache_side", "expected"), [(32, 64), (64, 64), (96, 96), (INPUT_SIZE, INPUT_SIZE),
                                                      (2 * INPUT_SIZE, INPUT_SIZE)])
def test_continued_pretraining_on_a_cpu_trains_at_the_frozen_start_size_where_the_cache_allows(
        cache_side: int, expected: int) -> None:
    assert preset(torch.device("cpu"), 500, source_size=cache_side, weights=LITE0).image_size == expected
    assert preset(torch.device("cuda"), 500, source_size=cache_side, weights=LITE0).image_size == INPUT_SIZE
