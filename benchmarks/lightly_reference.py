"""The reference BYOL training loop a `lightly` user writes: lightly's BYOL blocks (projection and
prediction heads, negative cosine similarity, ``update_momentum``, ``BYOLTransform``) fed by a
torchvision ImageFolder through a DataLoader with worker processes, as in lightly's BYOL example.

Install with ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import nullcontext

import torch
from lightly.loss import NegativeCosineSimilarity
from lightly.models.modules.heads import BYOLPredictionHead, BYOLProjectionHead
from lightly.models.utils import deactivate_requires_grad, update_momentum
from lightly.transforms.byol_transform import BYOLTransform, BYOLView1Transform, BYOLView2Transform
from lightly.utils.lars import LARS
from lightly.utils.scheduler import cosine_schedule
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision.datasets import ImageFolder

from bench_images import BenchImages
from labellight.ml.backbones import build_backbone
from labellight.ml.device import autocast
from labellight.ml.pretrain.config import PretrainConfig

_MOMENTUM = 0.9


class LightlyBYOL(nn.Module):
    """lightly's BYOL example model: backbone, projection and prediction heads, momentum copies."""

    def __init__(self, backbone: nn.Module, feature_dim: int, config: PretrainConfig) -> None:
        super().__init__()
        self.backbone = backbone
        self.projection_head = BYOLProjectionHead(feature_dim, config.proj_hidden, config.proj_dim)
        self.prediction_head = BYOLPredictionHead(config.proj_dim, config.pred_hidden, config.proj_dim)
        self.backbone_momentum = copy.deepcopy(self.backbone)
        self.projection_head_momentum = copy.deepcopy(self.projection_head)
        deactivate_requires_grad(self.backbone_momentum)
        deactivate_requires_grad(self.projection_head_momentum)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.backbone(x).flatten(start_dim=1)
        z = self.projection_head(y)
        return self.prediction_head(z)

    def forward_momentum(self, x: torch.Tensor) -> torch.Tensor:
        y = self.backbone_momentum(x).flatten(start_dim=1)
        return self.projection_head_momentum(y).detach()


def _optimizer(model: nn.Module, config: PretrainConfig) -> torch.optim.Optimizer:
    """The same optimiser kind, rate and weight decay as the app's run (one parameter group)."""
    params = [p for p in model.parameters() if p.requires_grad]
    lr, decay = config.optimizer_lr, config.weight_decay
    if config.optimizer == "lars":
        return LARS(params, lr=lr, momentum=_MOMENTUM, weight_decay=decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=_MOMENTUM, weight_decay=decay)
    return torch.optim.AdamW(params, lr=lr, weight_decay=decay)


class LightlyReference:
    """lightly BYOL on ``images`` with ``config``'s backbone, heads, batch size, image size and
    optimiser, decoding and augmenting every image in ``workers`` DataLoader processes.

    ``mixed_precision``: run the forward passes under the same autocast as the app (bf16 where the
    app uses it); False runs them in fp32, as lightly's example does.
    """

    def __init__(
        self,
        images: BenchImages,
        config: PretrainConfig,
        device: torch.device,
        *,
        workers: int,
        total_steps: int,
        min_scale: float,
        mixed_precision: bool,
    ) -> None:
        self.config, self.device, self.total_steps = config, device, total_steps
        self.mixed_precision = mixed_precision
        self.step = 0
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            backbone, feature_dim = build_backbone(config.backbone, config.small_images)
            self.model = LightlyBYOL(backbone, feature_dim, config).to(device)
        self.criterion = NegativeCosineSimilarity()
        self.optimizer = _optimizer(self.model, config)
        side = config.image_size
        transform = BYOLTransform(
            view_1_transform=BYOLView1Transform(input_size=side, min_scale=min_scale),
            view_2_transform=BYOLView2Transform(input_size=side, min_scale=min_scale),
        )
        dataset = Subset(ImageFolder(images.root, transform=transform), images.indices)
        self.batch_size = min(config.batch_size, len(dataset))
        self.loader = DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=True,
            drop_last=True,
            num_workers=workers,
            pin_memory=device.type == "cuda",
        )

    def _train_step(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        momentum = cosine_schedule(self.step, self.total_steps, self.config.tau_base, 1.0)
        update_momentum(self.model.backbone, self.model.backbone_momentum, m=momentum)
        update_momentum(self.model.projection_head, self.model.projection_head_momentum, m=momentum)
        x0 = x0.to(self.device, non_blocking=True)
        x1 = x1.to(self.device, non_blocking=True)
        precision = autocast(self.device, cpu_bf16=self.config.cpu_bf16) if self.mixed_precision else nullcontext()
        with precision:
            p0, z0 = self.model(x0), self.model.forward_momentum(x0)
            p1, z1 = self.model(x1), self.model.forward_momentum(x1)
            loss = 0.5 * (self.criterion(p0, z1) + self.criterion(p1, z0))
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.step += 1
        return loss.detach()

    def _batches(self, steps: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``steps`` batches of two views; a fresh pass over the loader (workers started) per epoch."""
        done = 0
        while done < steps:
            for (x0, x1), _ in self.loader:
                yield x0, x1
                done += 1
                if done == steps:
                    return

    def train(self, steps: int) -> int:
        """Train ``steps`` steps, loading included; the number of images trained on."""
        self.model.train()
        loss = torch.zeros(())
        for x0, x1 in self._batches(steps):
            loss = self._train_step(x0, x1)
        loss.item()
        return steps * self.batch_size
