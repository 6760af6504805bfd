"""Baselines the benchmark scores on the same labels as the app: the app's linear head on other features
(raw pixels, the untrained network, a local pretrained weights file), and a small CNN trained from scratch
on the labeled images alone. Pure numpy/torch: no database, no storage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from labellight.ml.augment import to_model_input
from labellight.ml.backbone_init import load_backbone_weights
from labellight.ml.backbones import build_backbone
from labellight.ml.classifier import fit_linear_head
from labellight.ml.embed import embed

PIXEL_SIDE = 16
SCRATCH_STEPS = 300
SCRATCH_IMAGE_SIZE = 32


def constant_predictions(y_train: np.ndarray, n: int) -> np.ndarray:
    """``n`` answers of the most frequent training label."""
    values, counts = np.unique(y_train, return_counts=True)
    return np.full(n, values[int(np.argmax(counts))], dtype=np.int64)


def linear_probe_accuracy(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> float:
    """Test accuracy of the app's linear head fitted on (x_train, y_train)."""
    if len(np.unique(y_train)) < 2:
        return float(np.mean(constant_predictions(y_train, len(y_test)) == y_test))
    head = fit_linear_head(x_train, y_train)
    predicted: np.ndarray = head.classes[np.argmax(head.predict_proba(x_test), axis=1)]
    return float(np.mean(predicted == y_test))


def pixel_features(pixels: np.ndarray, pool_stats: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Images (N, H, W, 3) downscaled to 16 x 16 and standardised per feature with the pool's statistics."""
    mean, std = pool_stats
    standardised: np.ndarray = ((_downscaled(pixels) - mean) / std).astype(np.float32)
    return standardised


def pixel_pool_stats(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std of the unlabeled pool (known without any label)."""
    flat = _downscaled(pixels)
    return flat.mean(axis=0), np.maximum(flat.std(axis=0), 1e-3)


def _downscaled(pixels: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float() / 255.0
    small = functional.interpolate(x, size=(PIXEL_SIDE, PIXEL_SIDE), mode="area")
    out: np.ndarray = small.reshape(len(pixels), -1).numpy()
    return out


def random_init_features(name: str, small_images: bool, image_size: int, seed: int,
                         pixels: np.ndarray) -> np.ndarray:
    """Embeddings by the app's network at random initialisation (seeded)."""
    torch.manual_seed(seed)
    module, _ = build_backbone(name, small_images=small_images)
    return embed(module.eval(), pixels, image_size)


def weights_features(weights: Path, name: str, small_images: bool, image_size: int,
                     pixels: np.ndarray) -> tuple[np.ndarray, str]:
    """Embeddings by the app's network loaded from a local weights file, and the loading report."""
    module, _ = build_backbone(name, small_images=small_images)
    report = load_backbone_weights(module, weights)
    return embed(module.eval(), pixels, image_size), report.summary()


class SmallCnn(nn.Module):
    """Three conv-BN-ReLU blocks (32, 64, 128 channels) and a linear layer: (B, 3, S, S) -> (B, classes)."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        for c_in, c_out in ((3, 32), (32, 64), (64, 128)):
            blocks += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                       nn.MaxPool2d(2)]
        self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classify = nn.Linear(128, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.classify(self.features(x))
        return out


def _augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flips and 4-pixel translations (reflection padding), per image."""
    flip = torch.rand(len(x), generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    size = x.shape[-1]
    padded = functional.pad(x, (4, 4, 4, 4), mode="reflect")
    dx, dy = (torch.randint(0, 9, (len(x),), generator=generator) for _ in range(2))
    return torch.stack([padded[i, :, dy[i]:dy[i] + size, dx[i]:dx[i] + size] for i in range(len(x))])


def scratch_accuracy(train_pixels: np.ndarray, y_train: np.ndarray, test_pixels: np.ndarray, y_test: np.ndarray,
                     seed: int, steps: int = SCRATCH_STEPS) -> float:
    """Supervised training from scratch on the labeled images only (AdamW, flips and shifts), CPU-sized."""
    classes = np.unique(y_train)
    if len(classes) < 2:
        return float(np.mean(constant_predictions(y_train, len(y_test)) == y_test))
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x = to_model_input(torch.from_numpy(np.ascontiguousarray(train_pixels)), SCRATCH_IMAGE_SIZE)
    y = torch.from_numpy(np.searchsorted(classes, y_train)).long()
    model = SmallCnn(len(classes))
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    batch = min(64, len(x))
    model.train()
    for _ in range(steps):
        rows = torch.randperm(len(x), generator=generator)[:batch]
        loss = functional.cross_entropy(model(_augment(x[rows], generator)), y[rows])
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    return float(np.mean(classes[_predict(model, test_pixels)] == y_test))


def _predict(model: nn.Module, pixels: np.ndarray) -> np.ndarray:
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(pixels), 256):
            x = to_model_input(torch.from_numpy(np.ascontiguousarray(pixels[start:start + 256])), SCRATCH_IMAGE_SIZE)
            out.append(model(x).argmax(dim=1).numpy())
    return np.concatenate(out)
