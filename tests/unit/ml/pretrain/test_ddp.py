"""Distributed (DDP) pretraining on the CPU: 2 processes, gloo, rendezvous through a file (no network).

With plain SGD at a small learning rate a step is well-conditioned, so the 2-process run must match
the single-process run on the same global batch up to the order of float sums.
"""

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from labellight.ml.checkpoint import config_to_json, load_state_dict, pretrain_checkpoint, save_state_dict
from labellight.ml.pretrain import (
    CheckpointPolicy,
    PretrainCancelled,
    PretrainConfig,
    PretrainProgress,
    PretrainRun,
    pretrain_with_report,
)
from labellight.ml.pretrain.distributed.launch import pretrain_distributed, processes_for
from labellight.ml.pretrain.distributed.norm import CpuSyncBatchNorm, convert_sync_batchnorm
from labellight.ml.pretrain.distributed.pretrain import DistributedSpec

CPU = torch.device("cpu")
N_IMAGES, SIDE = 16, 16  # 2 steps per epoch at batch 8, 4 images per process


def _config(epochs: int) -> PretrainConfig:
    return PretrainConfig(backbone="resnet18_w16", image_size=SIDE, epochs=epochs, batch_size=8, optimizer="sgd",
                          lr=0.05, proj_hidden=32, proj_dim=16, pred_hidden=32)


def _spec(tmp_path: Path, config: PretrainConfig, **fields: object) -> DistributedSpec:
    pixels = np.random.default_rng(0).integers(0, 256, (N_IMAGES, SIDE, SIDE, 3), dtype=np.uint8)
    pixels.tofile(tmp_path / "pixels.raw")
    return DistributedSpec(pixels=str(tmp_path / "pixels.raw"), images=N_IMAGES, image_side=SIDE,
                           config=config_to_json(config), workdir="", **fields)  # type: ignore[arg-type]


def _pixels(spec: DistributedSpec) -> np.ndarray:
    return np.fromfile(spec.pixels, dtype=np.uint8).reshape(N_IMAGES, SIDE, SIDE, 3)


def _assert_same_model(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5, msg=f"{name} differs")


@pytest.mark.slow
def test_ddp_resumes_a_checkpoint_and_matches_the_single_process_run(tmp_path: Path) -> None:
    config = _config(epochs=2)
    spec = _spec(tmp_path, config, checkpoint=str(tmp_path / "ddp.pt"), resume_from=str(tmp_path / "single.pt"),
                 progress_interval_s=0.0)
    single_reports: list[PretrainProgress] = []
    single_final: dict[str, torch.Tensor] = {}

    def save_first_epoch_keep_last(run: PretrainRun) -> None:
        if run.step == 2:
            save_state_dict(pretrain_checkpoint(run, {}), tmp_path / "single.pt")
        else:
            single_final.update({k: v.clone() for k, v in run.model.state_dict().items()})

    single = pretrain_with_report(_pixels(spec), config, device=CPU, on_progress=single_reports.append,
                                  progress_interval_s=0.0, checkpoints=CheckpointPolicy(save_first_epoch_keep_last))
    reports: list[PretrainProgress] = []

    result = pretrain_distributed(spec, 2, on_progress=reports.append, checkpoint_extras={"images": N_IMAGES})

    # It continued from the single-process checkpoint (step 2), not from the start.
    assert [r.step for r in reports] == [3, 4]
    single_loss = {r.step: r.loss for r in single_reports}
    for r in reports:
        assert np.isfinite(r.loss)
        assert r.loss == pytest.approx(single_loss[r.step], rel=1e-4)
    # Both processes end with the same online and target networks; only rank 0 wrote checkpoints.
    assert len(result.ranks) == 2
    assert result.ranks[0]["online"] == result.ranks[1]["online"]
    assert result.ranks[0]["target"] == result.ranks[1]["target"]
    assert [r["checkpoints"] for r in result.ranks] == [1, 0]
    # Rank 0's checkpoint has the single-process format and the single-process weights, target included.
    checkpoint = load_state_dict(tmp_path / "ddp.pt")
    assert (checkpoint["images"], checkpoint["run"]["step"], checkpoint["config"]["epochs"]) == (N_IMAGES, 4, 2)
    PretrainRun(config, total_steps=4, device=CPU).load_state_dict(checkpoint["run"])
    _assert_same_model(checkpoint["run"]["model"], single_final)
    _assert_same_model(result.backbone.state_dict(), single.backbone.state_dict())
    assert (result.start, result.kept, result.epochs, result.total_steps) == ("random", "pretrained", 2, 4)
    assert not result.backbone.training


@pytest.mark.slow
def test_j5_cancel_stops_every_process_at_one_step_and_keeps_the_checkpoint(tmp_path: Path) -> None:
    config = _config(epochs=20)
    checkpoint_path = tmp_path / "ddp.pt"
    spec = _spec(tmp_path, config, checkpoint=str(checkpoint_path))

    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "stop").touch()  # left behind by a crashed attempt: must not stop this one

    with pytest.raises(PretrainCancelled, match="every process stopped"):
        pretrain_distributed(spec, 2, should_stop=checkpoint_path.exists, workdir=workdir)

    assert not workdir.exists()

    checkpoint = load_state_dict(checkpoint_path)["run"]
    step = int(checkpoint["step"])
    assert step % 2 == 0, "checkpoints come at epoch ends here"
    assert 2 <= step < 40, "cancelled well before the end"
    # The distributed run from scratch took the same steps as one process would have.
    saved: list[dict[str, torch.Tensor]] = []

    def keep(run: PretrainRun) -> None:
        if run.step == step:
            saved.append({k: v.clone() for k, v in run.model.state_dict().items()})

    with pytest.raises(PretrainCancelled):
        pretrain_with_report(_pixels(spec), config, device=CPU, checkpoints=CheckpointPolicy(keep),
                             should_stop=lambda: bool(saved))
    _assert_same_model(checkpoint["model"], saved[0])


def test_launcher_rejects_a_batch_that_does_not_split(tmp_path: Path) -> None:
    spec = _spec(tmp_path, PretrainConfig(batch_size=9, image_size=SIDE))
    with pytest.raises(ValueError, match="does not split evenly over 2 processes"):
        pretrain_distributed(spec, 2)
    with pytest.raises(ValueError, match="world_size must be >= 1"):
        pretrain_distributed(spec, 0)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.slow
def test_cpu_sync_batchnorm_on_one_process_is_batchnorm(tmp_path: Path, momentum: float | None) -> None:
    torch.distributed.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        plain = torch.nn.BatchNorm2d(3, momentum=momentum)
        with torch.no_grad():
            plain.weight.uniform_(0.5, 1.5)
            plain.bias.uniform_(-0.5, 0.5)
        wrapper = torch.nn.Sequential(copy.deepcopy(plain))
        convert_sync_batchnorm(wrapper, CPU)
        synced = wrapper[0]
        assert isinstance(synced, CpuSyncBatchNorm)
        x = torch.randn(6, 3, 4, 4) * 3 + 5
        upstream = torch.randn(6, 3, 4, 4)  # the gradient of the output
        for _ in range(2):
            xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
            ya, yb = plain(xa), synced(xb)
            ya.backward(upstream)
            yb.backward(upstream)
            torch.testing.assert_close(yb, ya)
            torch.testing.assert_close(xb.grad, xa.grad)
        torch.testing.assert_close(synced.weight.grad, plain.weight.grad)
        torch.testing.assert_close(synced.bias.grad, plain.bias.grad)
        torch.testing.assert_close(synced.running_mean, plain.running_mean)
        torch.testing.assert_close(synced.running_var, plain.running_var)
        synced.eval()
        plain.eval()
        torch.testing.assert_close(synced(x), plain(x))
    finally:
        torch.distributed.destroy_process_group()


@pytest.mark.skipif(torch.cuda.device_count() > 0, reason="counts processes on a machine without GPUs")
def test_processes_follow_the_setting_and_the_batch() -> None:
    assert processes_for(0, 64, 1000) == 1, "automatic: distributed only over several GPUs"
    assert processes_for(1, 64, 1000) == 1
    assert processes_for(2, 64, 1000) == 2
    assert processes_for(3, 64, 1000) == 1, "64 images do not split over 3 processes"
    assert processes_for(2, 64, 5) == 1, "the batch is clipped to the 5 images"
    with pytest.raises(ValueError, match="must be >= 0"):
        processes_for(-1, 64, 1000)
