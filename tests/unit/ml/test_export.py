"""Exported models (ONNX, TorchScript) give the server's probabilities and carry their metadata."""

import json
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from labellight.ml.backbones import build_backbone
from labellight.ml.classifier import LinearHead
from labellight.ml.embed import embed
from labellight.ml.export import JIT_DEPRECATION, ExportFormat, ExportMetadata, ServedModel, export_model

TOLERANCE = 1e-4


def _backbone() -> torch.nn.Module:
    torch.manual_seed(0)
    module, _ = build_backbone("resnet18_w16", small_images=True)
    return module.eval()


def _head(dim: int, n_classes: int = 3) -> LinearHead:
    rng = np.random.default_rng(1)
    # Large weights on unit-norm features: confident, distinct probabilities, so a wrong path shows.
    return LinearHead(coef=rng.normal(0, 30, (n_classes, dim)), intercept=rng.normal(0, 1, n_classes),
                      classes=np.array([7, 3, 11][:n_classes]))


def _pixels(n: int, size: int, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _as_input(pixels: np.ndarray) -> np.ndarray:
    """What a client feeds the exported model: the cache pixels scaled to [0, 1], NCHW float32."""
    return np.ascontiguousarray(pixels.transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255.0)


def _metadata(input_size: int) -> ExportMetadata:
    return ExportMetadata(["dog", "cat", "bird"], [7, 3, 11], input_size, "b2.c5")


def _run_onnx(path: Path, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (probs,) = session.run(None, {session.get_inputs()[0].name: x})
    return np.asarray(probs)


def _load_torchscript(path: Path, extra_files: dict[str, str] | None = None) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():  # TorchScript is deprecated upstream; loading still works
        warnings.filterwarnings("ignore", message=JIT_DEPRECATION, category=FutureWarning)
        return torch.jit.load(str(path), _extra_files=extra_files)


def _run_torchscript(path: Path, x: np.ndarray) -> np.ndarray:
    module = _load_torchscript(path)
    with torch.no_grad():
        return np.asarray(module(torch.from_numpy(x)).numpy())


RUNNERS = {ExportFormat.ONNX: _run_onnx, ExportFormat.TORCHSCRIPT: _run_torchscript}


@pytest.mark.parametrize("fmt", list(ExportFormat))
@pytest.mark.parametrize(("input_size", "model_size"), [(24, 24), (32, 20)])
@pytest.mark.slow
def test_exported_model_gives_the_server_probabilities(tmp_path: Path, fmt: ExportFormat, input_size: int,
                                                       model_size: int) -> None:
    backbone = _backbone()
    head = _head(128)
    path = tmp_path / f"model{fmt.suffix}"
    size = export_model(ServedModel(backbone, head, input_size, model_size), fmt, path, _metadata(input_size))
    assert size == path.stat().st_size > 10_000

    for batch in (1, 5):  # the batch dimension is free, whatever the example used for export
        pixels = _pixels(batch, input_size, seed=batch)
        server = head.predict_proba(embed(backbone, pixels, model_size, device=torch.device("cpu")))
        exported = RUNNERS[fmt](path, _as_input(pixels))
        assert exported.shape == (batch, 3)
        np.testing.assert_allclose(exported, server, atol=TOLERANCE)
        np.testing.assert_allclose(exported.sum(axis=1), 1.0, atol=1e-5)
    assert server.max() > 0.9  # the comparison is on confident, distinct answers, not near-uniform ones


@pytest.mark.slow
def test_onnx_file_carries_its_metadata(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    export_model(ServedModel(_backbone(), _head(128), 24, 24), ExportFormat.ONNX, path, _metadata(24))
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["classes"]) == ["dog", "cat", "bird"]
    assert json.loads(props["class_ids"]) == [7, 3, 11]
    assert json.loads(props["input"]) == {"layout": "NCHW", "size": [24, 24], "dtype": "float32", "range": [0, 1]}
    assert props["model_version"] == "b2.c5"
    assert "bicubic" in props["preprocessing"]
    (graph_input,) = model.graph.input
    dims = [d.dim_param or d.dim_value for d in graph_input.type.tensor_type.shape.dim]
    assert graph_input.name == "images"
    assert isinstance(dims[0], str)
    assert dims[1:] == [3, 24, 24]


@pytest.mark.slow
def test_torchscript_file_carries_its_metadata(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    export_model(ServedModel(_backbone(), _head(128), 24, 24), ExportFormat.TORCHSCRIPT, path, _metadata(24))
    files = {"classes": "", "input": "", "model_version": "", "preprocessing": ""}
    _load_torchscript(path, files)  # fills in each file's bytes
    assert json.loads(files["classes"]) == ["dog", "cat", "bird"]
    assert json.loads(files["input"])["size"] == [24, 24]
    assert files["model_version"] == b"b2.c5"


@pytest.mark.slow
def test_export_leaves_the_callers_backbone_alone(tmp_path: Path) -> None:
    backbone = _backbone()
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    model = ServedModel(backbone, _head(128), 24, 24)
    assert model.backbone is not backbone
    export_model(model, ExportFormat.TORCHSCRIPT, tmp_path / "model.pt", _metadata(24))
    assert not backbone.training
    assert all(torch.equal(v, before[k]) for k, v in backbone.state_dict().items())


@pytest.mark.slow
def test_export_writes_nothing_when_it_fails(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    head = _head(64)  # the backbone gives 128-d features: the head does not fit
    with pytest.raises(Exception, match=r"64|128|shape|size"):
        export_model(ServedModel(_backbone(), head, 24, 24), ExportFormat.ONNX, path, _metadata(24))
    assert list(tmp_path.iterdir()) == []


def test_sizes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="image sizes must be >= 1"):
        ServedModel(_backbone(), _head(128), 0, 24)
