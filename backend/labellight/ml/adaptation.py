"""Which parts of an encoder (ResNet or EfficientNet-Lite0) adapt during (continued) pretraining.

Continuing BYOL from good weights on a few images can destroy them: recomputing BatchNorm
statistics on the new images alone, or letting early layers drift, costs accuracy (issue 3
measured -11 points from the statistics alone). Two brakes: keep BatchNorm running statistics
fixed (the layers normalise with them, as in evaluation), and train only the last stages.
"""

from __future__ import annotations

from torch import nn

from labellight.ml.backbones import EFFICIENTNET_LITE0

# (stem, stages) of each layout. torchvision ResNet: a stem, then four residual stages. timm's
# EfficientNet-Lite0: a stem, then seven stages of inverted-residual blocks (the 1x1 head after
# them always trains).
_RESNET = (("conv1", "bn1"), ("layer1", "layer2", "layer3", "layer4"))
_LITE0 = (("conv_stem", "bn1"), tuple(f"blocks.{i}" for i in range(7)))


def _layout(backbone: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return _LITE0 if backbone == EFFICIENTNET_LITE0 else _RESNET


def stage_count(backbone: str) -> int:
    """How many stages the ``train_last_stages`` of ``backbone`` counts from."""
    return len(_layout(backbone)[1])


def frozen_parts(backbone: str, train_last_stages: int | None) -> tuple[str, ...]:
    """Names (dotted paths) of the modules of ``backbone`` that stay fixed when only its last k stages train."""
    if train_last_stages is None:
        return ()
    stem, stages = _layout(backbone)
    if not 1 <= train_last_stages <= len(stages):
        raise ValueError(f"train_last_stages must be in 1..{len(stages)} or None for {backbone}, "
                         f"got {train_last_stages}")
    return stem + stages[: len(stages) - train_last_stages]


def freeze_parts(encoder: nn.Module, parts: tuple[str, ...]) -> None:
    """Stop gradients into the named modules of ``encoder`` (ValueError if one is absent)."""
    for name in parts:
        _part(encoder, name).requires_grad_(False)


def _part(encoder: nn.Module, name: str) -> nn.Module:
    try:
        return encoder.get_submodule(name)
    except AttributeError as error:
        raise ValueError(
            f"the encoder has no module {name!r}; stage freezing needs a ResNet or EfficientNet-Lite0"
        ) from error


def fix_norm_statistics(encoder: nn.Module, parts: tuple[str, ...], *, everywhere: bool) -> None:
    """Put BatchNorm layers in evaluation mode: they normalise with, and no longer update, their
    running statistics. Applies to the layers inside ``parts`` or, with ``everywhere``, to all.

    Must be called again after every ``.train()`` on a parent module, which resets the mode.
    """
    scopes = [encoder] if everywhere else [_part(encoder, name) for name in parts]
    for scope in scopes:
        for module in scope.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
