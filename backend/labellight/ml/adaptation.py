"""Which parts of a ResNet encoder adapt during (continued) pretraining.

Continuing BYOL from good weights on a few images can destroy them: recomputing BatchNorm
statistics on the new images alone, or letting early layers drift, costs accuracy (issue 3
measured -11 points from the statistics alone). Two brakes: keep BatchNorm running statistics
fixed (the layers normalise with them, as in evaluation), and train only the last stages.
"""

from __future__ import annotations

from torch import nn

# torchvision ResNet layout: a stem, then four residual stages.
_STEM = ("conv1", "bn1")
_STAGES = ("layer1", "layer2", "layer3", "layer4")


def frozen_parts(train_last_stages: int | None) -> tuple[str, ...]:
    """Names of the top-level modules that stay fixed when only the last k stages train."""
    if train_last_stages is None:
        return ()
    if not 1 <= train_last_stages <= len(_STAGES):
        raise ValueError(f"train_last_stages must be in 1..{len(_STAGES)} or None, got {train_last_stages}")
    return _STEM + _STAGES[: len(_STAGES) - train_last_stages]


def freeze_parts(encoder: nn.Module, parts: tuple[str, ...]) -> None:
    """Stop gradients into the named top-level modules of ``encoder`` (ValueError if one is absent)."""
    for name in parts:
        part = getattr(encoder, name, None)
        if not isinstance(part, nn.Module):
            raise ValueError(f"the encoder has no module {name!r}; stage freezing needs a ResNet")
        part.requires_grad_(False)


def fix_norm_statistics(encoder: nn.Module, parts: tuple[str, ...], *, everywhere: bool) -> None:
    """Put BatchNorm layers in evaluation mode: they normalise with, and no longer update, their
    running statistics. Applies to the layers inside ``parts`` or, with ``everywhere``, to all.

    Must be called again after every ``.train()`` on a parent module, which resets the mode.
    """
    scopes = [encoder] if everywhere else [getattr(encoder, name) for name in parts]
    for scope in scopes:
        for module in scope.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
