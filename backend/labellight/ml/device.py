"""Where tensors live and at which precision: the one place that decides CUDA versus CPU."""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

import torch

# CPU feature flags (Linux /proc/cpuinfo) of native bf16 matrix instructions.
_NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def pick_device() -> torch.device:
    """Return ``cuda`` when a CUDA device is usable, else ``cpu``; never requires CUDA."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bf16 matrix products natively (AVX512-BF16 or AMX).

    Only there does CPU bf16 autocast pay off (about 2x for ResNet-18 training on an AVX512-BF16
    EPYC); elsewhere it is emulated and slower than fp32. False when the flags cannot be read.
    """
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return not _NATIVE_BF16_FLAGS.isdisjoint(line.split(":", 1)[-1].split())
    return False


def autocast(device: torch.device, *, cpu_bf16: bool = False) -> contextlib.AbstractContextManager[object]:
    """Mixed-precision context for forward passes on ``device``.

    bf16 autocast on CUDA when the GPU supports bf16 (Ampere and newer), else fp32. On CPU
    autocast is off unless ``cpu_bf16`` is set (see :func:`cpu_has_native_bf16`).
    """
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    if device.type == "cpu" and cpu_bf16:
        return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()
