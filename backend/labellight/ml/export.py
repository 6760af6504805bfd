"""The served model as one file (ONNX or TorchScript): images in, class probabilities out.

The file computes exactly what the prediction endpoint computes after decoding an image into the
project's pixel cache size S_in: for x (B, 3, S_in, S_in) float32 in [0, 1] (RGB, NCHW),

    x' = resize(x, S) when S != S_in (bilinear, anti-aliased), S = the backbone's input size
    y  = f(normalize(x')) / ||f(normalize(x'))||          (B, D), normalize: ImageNet mean / std
    p  = softmax(W y + b)                                  (B, C), columns in the head's class order

with the batch size B free. Metadata (class names in output order, input description, model
version, preprocessing) travels inside the file: ONNX ``metadata_props``, TorchScript ``_extra_files``.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from labellight.common.atomic_file import atomic_path
from labellight.ml.augment import normalize
from labellight.ml.classifier import LinearHead

INPUT_NAME = "images"
OUTPUT_NAME = "probabilities"
JIT_DEPRECATION = r"`torch\.jit\.(trace|trace_method|save|load)` is deprecated"
"""torch 2.14's FutureWarning on TorchScript calls (a ``warnings`` message pattern)."""
PREPROCESSING = (
    "decode the image (EXIF orientation applied) to RGB; resize the centred square of side min(width, height) "
    "to the input size with bicubic resampling (Pillow: resize(..., box=square, reducing_gap=3.0)); "
    "scale the uint8 values to [0, 1] (divide by 255); "
    "lay out as float32 NCHW. The model resizes to the backbone's size and applies the ImageNet "
    "mean/std normalisation itself."
)


class ExportFormat(StrEnum):
    ONNX = "onnx"
    TORCHSCRIPT = "torchscript"

    @property
    def suffix(self) -> str:
        return ".onnx" if self is ExportFormat.ONNX else ".pt"


@dataclass(frozen=True)
class ExportMetadata:
    """What a user of the exported file needs besides the weights."""

    class_names: list[str]
    """Name of each output column, in order."""
    class_ids: list[int]
    """The project's class id of each output column."""
    input_size: int
    """S_in: the input images are (B, 3, S_in, S_in)."""
    model_version: str

    def input_description(self) -> dict[str, Any]:
        return {"layout": "NCHW", "size": [self.input_size, self.input_size], "dtype": "float32",
                "range": [0.0, 1.0]}

    def as_strings(self) -> dict[str, str]:
        """Key -> text, the form both ONNX metadata_props and TorchScript extra files hold."""
        return {
            "classes": json.dumps(self.class_names),
            "class_ids": json.dumps(self.class_ids),
            "input": json.dumps(self.input_description()),
            "output": f"{OUTPUT_NAME}: float32 (B, {len(self.class_names)}) softmax, columns in 'classes' order",
            "model_version": self.model_version,
            "preprocessing": PREPROCESSING,
        }


class ServedModel(nn.Module):
    """Images (B, 3, S_in, S_in) in [0, 1] -> class probabilities (B, C); see the module docstring."""

    shift: torch.Tensor  # (1, 3, 1, 1)
    scale: torch.Tensor  # (1, 3, 1, 1)
    weight: torch.Tensor  # W (C, D)
    bias: torch.Tensor  # b (C,)

    def __init__(self, backbone: nn.Module, head: LinearHead, input_size: int, model_size: int) -> None:
        super().__init__()
        if input_size < 1 or model_size < 1:
            raise ValueError(f"image sizes must be >= 1, got input {input_size}, model {model_size}")
        self.input_size, self.model_size = input_size, model_size
        # A copy on the CPU in fp32: the caller's module may be shared (cached for the server) or on a GPU.
        self.backbone = copy.deepcopy(backbone).cpu().float().eval()
        # normalize() as the affine map x * scale + shift it is, read off at 0 and 1, so the graph
        # holds constants and the exported preprocessing cannot drift from the server's.
        corners = torch.stack([torch.zeros(3, 1, 1), torch.ones(3, 1, 1)])
        shift, one = normalize(corners)
        self.register_buffer("shift", shift.unsqueeze(0))
        self.register_buffer("scale", (one - shift).unsqueeze(0))
        self.register_buffer("weight", torch.from_numpy(head.coef.copy()))
        self.register_buffer("bias", torch.from_numpy(head.intercept.copy()))
        self.eval()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images
        if self.input_size != self.model_size:
            x = functional.interpolate(x, size=(self.model_size, self.model_size), mode="bilinear",
                                       antialias=True, align_corners=False)
        y = functional.normalize(self.backbone(x * self.scale + self.shift), dim=1)
        return torch.softmax(functional.linear(y, self.weight, self.bias), dim=1)

    def example_input(self, batch: int = 2) -> torch.Tensor:
        return torch.rand(batch, 3, self.input_size, self.input_size, generator=torch.Generator().manual_seed(0))


def export_model(model: ServedModel, fmt: ExportFormat, path: Path, metadata: ExportMetadata) -> int:
    """Write ``model`` as ``fmt`` to ``path`` (atomically) with ``metadata``; returns the file's size."""
    path = Path(path)
    with atomic_path(path) as tmp, torch.inference_mode(False), torch.no_grad():
        if fmt is ExportFormat.ONNX:
            _write_onnx(model, tmp, metadata.as_strings())
        else:
            _write_torchscript(model, tmp, metadata.as_strings())
    return path.stat().st_size


def _write_onnx(model: ServedModel, path: Path, metadata: Mapping[str, str]) -> None:
    program = torch.onnx.export(
        model, (model.example_input(),), None,
        input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
        dynamic_shapes=({0: torch.export.Dim("batch", min=1)},), verbose=False,
    )
    if program is None:
        raise RuntimeError("torch.onnx.export returned no program")
    program.model.metadata_props.update(metadata)
    program.save(str(path))


def _write_torchscript(model: ServedModel, path: Path, metadata: Mapping[str, str]) -> None:
    # TorchScript is deprecated upstream (torch 2.14 warns on every trace and save); the format is still
    # what many C++/mobile runtimes load, so we keep it and silence exactly those notices here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=JIT_DEPRECATION, category=FutureWarning)
        traced = torch.jit.trace(model, (model.example_input(),))  # type: ignore[no-untyped-call]
        torch.jit.save(traced, str(path), _extra_files=dict(metadata))
