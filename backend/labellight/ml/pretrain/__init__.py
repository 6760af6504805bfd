"""BYOL pretraining: the loop (:mod:`.loop`), its config and presets (:mod:`.config`), one run's
networks, optimiser and step (:mod:`.run`), the epoch plan (:mod:`.schedule`), the LARS optimiser
(:mod:`.lars`) and the same loop over several processes (:mod:`.distributed`).

The names below are the package's front door; callers outside it import them from here."""

from labellight.ml.pretrain.config import PretrainConfig, preset
from labellight.ml.pretrain.loop import (
    CheckpointPolicy,
    PretrainCancelled,
    PretrainProgress,
    PretrainResult,
    pretrain,
    pretrain_with_report,
)
from labellight.ml.pretrain.run import PretrainRun

__all__ = [
    "CheckpointPolicy",
    "PretrainCancelled",
    "PretrainConfig",
    "PretrainProgress",
    "PretrainResult",
    "PretrainRun",
    "preset",
    "pretrain",
    "pretrain_with_report",
]
