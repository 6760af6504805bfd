import numpy as np
import pytest
import torch

from labellight.ml.backbones import build_backbone
from labellight.ml.embed import embed

DEVICES = [
    pytest.param(torch.device("cpu"), id="cpu"),
    pytest.param(
        torch.device("cuda"),
        id="cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
    ),
]


def _pixels(n: int = 10) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 20, 20, 3), dtype=np.uint8)


@pytest.mark.parametrize("device", DEVICES)
def test_rows_are_unit_norm_float32_and_deterministic(device: torch.device) -> None:
    torch.manual_seed(0)
    backbone, dim = build_backbone("resnet18")
    backbone.train()
    first = embed(backbone, _pixels(), 16, batch_size=4, device=device)
    second = embed(backbone, _pixels(), 16, batch_size=3, device=device)
    assert first.shape == (10, dim)
    assert first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(first, second, atol=1e-2 if device.type == "cuda" else 1e-5)
    assert not backbone.training, "embed must leave the module in eval mode"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_and_cpu_embeddings_agree() -> None:
    torch.manual_seed(0)
    backbone, _ = build_backbone("resnet18")
    on_cpu = embed(backbone, _pixels(), 16, device=torch.device("cpu"))
    on_gpu = embed(backbone, _pixels(), 16, device=torch.device("cuda"))
    assert (on_cpu * on_gpu).sum(axis=1).min() > 0.99


def test_embed_rejects_bad_pixels() -> None:
    backbone, _ = build_backbone("resnet18")
    with pytest.raises(ValueError, match="pixels must be"):
        embed(backbone, np.zeros((2, 3, 8, 8), np.uint8), 8, device=torch.device("cpu"))
    with pytest.raises(ValueError, match="no images"):
        embed(backbone, np.zeros((0, 8, 8, 3), np.uint8), 8, device=torch.device("cpu"))
