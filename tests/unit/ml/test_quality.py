import numpy as np
import pytest
import torch
from torch import nn

from labellight.ml.backbones import build_backbone
from labellight.ml.byol.collapse import healthy_std, normalized_std
from labellight.ml.quality import choose_backbone, effective_rank, knn_agreement, knn_indices


def _points(n: int = 60, d: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def test_knn_indices_exclude_self_and_find_the_nearest() -> None:
    x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]], dtype=np.float32)
    assert knn_indices(x, 1).ravel().tolist() == [1, 0, 3, 2]
    with pytest.raises(ValueError, match="k must be"):
        knn_indices(x, 4)


def test_knn_agreement_is_one_for_same_geometry_and_low_for_unrelated() -> None:
    x = _points()
    rotation, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(8, 8)))
    assert knn_agreement(x, 3.0 * x @ rotation, k=5) == pytest.approx(1.0)
    assert knn_agreement(x, _points(seed=2), k=5) < 0.3
    with pytest.raises(ValueError, match="same rows"):
        knn_agreement(x, x[:10])


def test_effective_rank_detects_collapse() -> None:
    spread = effective_rank(_points(500, 8))
    assert 7.0 < spread <= 8.0
    collapsed = np.ones((100, 8), np.float32) + 1e-4 * _points(100, 8)
    assert effective_rank(collapsed) < 1.1


def test_normalized_std_is_about_one_over_sqrt_d_or_zero_when_collapsed() -> None:
    z = torch.from_numpy(_points(2000, 64))
    assert normalized_std(z).item() == pytest.approx(healthy_std(64), rel=0.05)
    assert normalized_std(torch.ones(10, 64)).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="B >= 2"):
        normalized_std(torch.ones(1, 4))


class _Collapsed(nn.Module):
    """A collapsed encoder: one direction for every image, up to noise."""

    def __init__(self) -> None:
        super().__init__()
        self.noise = torch.Generator().manual_seed(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ones(x.shape[0], 8) + 1e-3 * torch.randn(x.shape[0], 8, generator=self.noise)


def _shapes(n: int = 64) -> np.ndarray:
    """Bright squares or discs on dark backgrounds, at random places."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :16]
    images = np.zeros((n, 16, 16, 3), np.uint8)
    for i in range(n):
        cy, cx = rng.integers(5, 11, 2)
        mask = (np.abs(yy - cy) < 4) & (np.abs(xx - cx) < 4) if i % 2 else (yy - cy) ** 2 + (xx - cx) ** 2 < 16
        images[i][mask] = rng.integers(150, 256, 3)
    return images


@pytest.mark.slow
def test_guard_keeps_the_more_consistent_backbone() -> None:
    torch.manual_seed(0)
    resnet, _ = build_backbone("resnet18_w16")
    cpu = torch.device("cpu")
    kept, choice = choose_backbone(resnet, _Collapsed(), _shapes(), 16, device=cpu)
    assert kept is resnet
    assert choice.kept == "before"
    assert choice.score_before > choice.score_after
    assert "did not improve" in choice.reason
    kept, choice = choose_backbone(_Collapsed(), resnet, _shapes(), 16, device=cpu)
    assert kept is resnet
    assert choice.kept == "after"
    assert choice.rank_after > 1.0
