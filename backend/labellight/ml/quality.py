"""Label-free quality of an encoder's embeddings, and the guard that keeps the better of two backbones.

Continued pretraining can make a good backbone worse (issue 3: BYOL continued from ImageNet
weights lost 14-17 points on CIFAR-10). Without labels we compare the two encoders by how stable
each one's neighbourhoods are under augmentation (:func:`view_consistency`): embed two
augmented views of the same images and measure the agreement of their k-nearest-neighbour sets
(:func:`knn_agreement`). A useful encoder maps an image and its augmented copy to the same
neighbours; a collapsed one (every image alike) or a colour-only one does not. The effective
rank (RankMe, Garrido et al. 2023) is reported alongside as a collapse indicator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from labellight.common.vectors import unit_rows
from labellight.ml.augment import ByolAugment, ViewPipeline
from labellight.ml.embed import embed_float

# Neighbours compared per image; small k rewards fine structure, large k is robust to noise.
DEFAULT_K = 10
# Images scored (a seeded subset beyond this): enough for stable neighbourhoods, bounded time.
DEFAULT_MAX_IMAGES = 1024
# Milder views than BYOL's: with 20% crops, blur and solarisation hardly any neighbourhood
# survives in either encoder (agreement near the chance level k / N), so the score is noise.
_SCORE_CROP = (0.5, 1.0)
_SCORE_VIEW = ViewPipeline(blur_p=0.0, solarize_p=0.0)


def knn_indices(embeddings: np.ndarray, k: int) -> np.ndarray:
    """Indices (N, k) of each row's k nearest other rows by cosine similarity (itself excluded)."""
    x = unit_rows(embeddings, min_rows=2)
    if not 1 <= k < x.shape[0]:
        raise ValueError(f"k must be in 1..{x.shape[0] - 1}, got {k}")
    similarity = x @ x.T
    np.fill_diagonal(similarity, -np.inf)
    neighbours: np.ndarray = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    return neighbours


def knn_agreement(emb_a: np.ndarray, emb_b: np.ndarray, k: int = DEFAULT_K) -> float:
    """Mean fraction |N_a(i) & N_b(i)| / k of shared k-nearest neighbours, in [0, 1].

    ``emb_a``, ``emb_b``: (N, D_a), (N, D_b), row i of both describing the same image. 1 when
    both embeddings give every image the same neighbours; about k / N for unrelated ones.
    """
    if emb_a.shape[0] != emb_b.shape[0]:
        raise ValueError(f"embeddings must have the same rows, got {emb_a.shape[0]} and {emb_b.shape[0]}")
    a, b = knn_indices(emb_a, k), knn_indices(emb_b, k)
    n = a.shape[0]
    in_a = np.zeros((n, n), dtype=bool)
    np.put_along_axis(in_a, a, True, axis=1)
    return float(np.take_along_axis(in_a, b, axis=1).sum(axis=1).mean() / k)


def effective_rank(embeddings: np.ndarray) -> float:
    """RankMe: exp(-sum_k p_k log p_k), p_k = s_k / sum_j s_j over the singular values s of the
    (N, D) L2-normalised embeddings. Between 1 (all rows alike: collapse) and min(N, D)."""
    singular = np.linalg.svd(unit_rows(embeddings, min_rows=2).astype(np.float64), compute_uv=False)
    p = singular / max(float(singular.sum()), 1e-12) + 1e-12
    return float(np.exp(-(p * np.log(p)).sum()))


def _subset(pixels: np.ndarray, max_images: int, seed: int) -> np.ndarray:
    if pixels.shape[0] <= max_images:
        return pixels
    rows = np.sort(np.random.default_rng(seed).choice(pixels.shape[0], max_images, replace=False))
    return np.asarray(pixels[rows])


def augmented_views(pixels: np.ndarray, image_size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two mildly augmented, normalised views (N, 3, S, S) of uint8 images (N, H, W, 3), seeded:
    crops of half to all of the image, flips, colour jitter and grayscale; no blur or solarisation."""
    augment = ByolAugment(image_size, crop_scale=_SCORE_CROP, seed=seed, views=(_SCORE_VIEW, _SCORE_VIEW))
    return augment(torch.from_numpy(np.ascontiguousarray(pixels)))


def view_consistency(
    backbone: nn.Module,
    views: tuple[torch.Tensor, torch.Tensor],
    *,
    k: int = DEFAULT_K,
    device: torch.device | None = None,
) -> float:
    """:func:`knn_agreement` of the backbone's embeddings of two augmented views of the images."""
    emb_a = embed_float(backbone, views[0], device=device)
    emb_b = embed_float(backbone, views[1], device=device)
    return knn_agreement(emb_a, emb_b, min(k, emb_a.shape[0] - 1))


@dataclass(frozen=True)
class BackboneChoice:
    """Which of two backbones the guard kept, with the scores it compared and why. ``method``:
    ``"view-consistency"`` (label-free) or ``"labels"`` (:mod:`labellight.ml.label_guard`: the scores
    are cross-validated accuracies and the ranks NaN)."""

    kept: str  # "before" or "after"
    score_before: float
    score_after: float
    rank_before: float
    rank_after: float
    reason: str
    method: str = "view-consistency"


class BackboneGuard(Protocol):
    """Scores the starting backbone (before training: its time is then known) and the trained one, and
    chooses between the two scores."""

    def score_before(self, module: nn.Module) -> Any: ...

    def score_after(self, module: nn.Module) -> Any: ...

    def choose(self, before: Any, after: Any) -> BackboneChoice: ...


@dataclass(frozen=True)
class ViewScore:
    """One encoder's :func:`view_consistency` and the :func:`effective_rank` of its embeddings."""

    consistency: float
    rank: float


class ViewConsistencyGuard:
    """The label-free guard on ``pixels`` (uint8 (N, H, W, 3); a seeded subset of at most
    ``max_images``): :meth:`score` one encoder at a time (the start can be scored before training,
    which also measures what scoring the trained one will cost), :meth:`choose` between two scores."""

    def __init__(self, pixels: np.ndarray, image_size: int, *, margin: float = 0.0, k: int = DEFAULT_K,
                 max_images: int = DEFAULT_MAX_IMAGES, seed: int = 0, device: torch.device | None = None) -> None:
        sample = _subset(pixels, max_images, seed)
        if sample.shape[0] < 3:
            raise ValueError(f"choosing a backbone needs at least 3 images, got {sample.shape[0]}")
        self.views = augmented_views(sample, image_size, seed)
        self.margin, self.k, self.device = margin, k, device

    def score(self, module: nn.Module) -> ViewScore:
        emb_a = embed_float(module, self.views[0], device=self.device)
        emb_b = embed_float(module, self.views[1], device=self.device)
        return ViewScore(knn_agreement(emb_a, emb_b, min(self.k, emb_a.shape[0] - 1)), effective_rank(emb_a))

    def score_before(self, module: nn.Module) -> ViewScore:
        return self.score(module)

    def score_after(self, module: nn.Module) -> ViewScore:
        return self.score(module)

    def choose(self, before: ViewScore, after: ViewScore) -> BackboneChoice:
        """Keep ``after`` only if its view-consistency beats ``before``'s by more than ``margin``."""
        keep_after = after.consistency > before.consistency + self.margin
        verdict = "improved" if keep_after else "did not improve"
        reason = (
            f"view-consistency (shared {self.k}-NN between augmented views) {verdict}: "
            f"{before.consistency:.3f} before, {after.consistency:.3f} after"
        )
        return BackboneChoice("after" if keep_after else "before", before.consistency, after.consistency,
                              before.rank, after.rank, reason)


def choose_backbone(
    before: nn.Module,
    after: nn.Module,
    pixels: np.ndarray,
    image_size: int,
    *,
    margin: float = 0.0,
    k: int = DEFAULT_K,
    max_images: int = DEFAULT_MAX_IMAGES,
    seed: int = 0,
    device: torch.device | None = None,
) -> tuple[nn.Module, BackboneChoice]:
    """Keep ``after`` (e.g. the continued-pretrained encoder) only if its :func:`view_consistency`
    on ``pixels`` (uint8 (N, H, W, 3)) beats ``before``'s by more than ``margin``; else ``before``.

    Both encoders see the same views of the same (at most ``max_images``, seeded) images.
    """
    guard = ViewConsistencyGuard(pixels, image_size, margin=margin, k=k, max_images=max_images, seed=seed,
                                 device=device)
    choice = guard.choose(guard.score(before), guard.score(after))
    return (after if choice.kept == "after" else before), choice
