from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from labellight.ml.pretrain import (
    CheckpointPolicy,
    PretrainCancelled,
    PretrainConfig,
    PretrainProgress,
    PretrainRun,
    preset,
    pretrain,
    pretrain_with_report,
)
from labellight.ml.pretrain.schedule import epoch_batches, schedule_for

CPU = torch.device("cpu")
DEVICES = [
    pytest.param(CPU, id="cpu"),
    pytest.param(
        torch.device("cuda"),
        id="cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
    ),
]


def _config(**overrides: object) -> PretrainConfig:
    base: dict[str, object] = dict(
        backbone="resnet18_w16", image_size=16, epochs=1, batch_size=8, proj_hidden=32, proj_dim=16, pred_hidden=32
    )
    base.update(overrides)
    return PretrainConfig(**base)  # type: ignore[arg-type]


def _pixels(n: int = 16, size: int = 16) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize("device", DEVICES)
def test_one_epoch_runs_reports_progress_and_returns_cpu_encoder(device: torch.device) -> None:
    reports: list[PretrainProgress] = []
    encoder = pretrain(_pixels(), _config(), on_progress=reports.append, device=device)
    assert reports, "on_progress was never called"
    last = reports[-1]
    assert (last.epoch, last.epochs, last.step, last.total_steps) == (1, 1, 2, 2)
    assert np.isfinite(last.loss)
    assert 0 < last.collapse_std < 1
    assert last.images_per_s > 0
    assert last.eta_s == 0
    assert not encoder.training
    assert all(p.device.type == "cpu" for p in encoder.parameters())
    assert encoder(torch.randn(2, 3, 16, 16)).shape == (2, 128)


def test_training_changes_the_encoder_weights() -> None:
    run = PretrainRun(_config(), total_steps=2, device=CPU)
    before = [p.clone() for p in run.model.online_encoder.parameters()]
    images = torch.from_numpy(_pixels(8))
    run.train_step(images)
    run.train_step(images)
    after = list(run.model.online_encoder.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert run.step == 2


def test_should_stop_raises_cancelled_before_any_step() -> None:
    calls: list[PretrainProgress] = []
    with pytest.raises(PretrainCancelled):
        pretrain(_pixels(), _config(), on_progress=calls.append, should_stop=lambda: True, device=CPU)
    assert calls == []


def test_tiny_dataset_clips_batch_size() -> None:
    reports: list[PretrainProgress] = []
    pretrain(_pixels(3), _config(batch_size=64, epochs=2), on_progress=reports.append, device=CPU)
    assert reports[-1].total_steps == 2


@pytest.mark.parametrize("optimizer", ["adamw", "lars"])
@pytest.mark.slow
def test_j8_resume_reproduces_an_uninterrupted_run(optimizer: str) -> None:
    pixels = _pixels()
    config = _config(epochs=2, optimizer=optimizer, predictor_lr_scale=10.0)
    full = pretrain(pixels, config, device=CPU)
    saved: list[dict[str, object]] = []

    def stop_after_first_epoch() -> bool:
        return bool(saved)

    def keep_state(run: PretrainRun) -> None:
        saved.append(run.state_dict())

    with pytest.raises(PretrainCancelled):
        pretrain(pixels, config, device=CPU, checkpoints=CheckpointPolicy(keep_state),
                 should_stop=stop_after_first_epoch)
    assert saved[0]["step"] == 2
    resumed = pretrain(pixels, config, device=CPU, resume_from=saved[0])
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)


class _StepClock:
    """A clock that advances one second per reading: checkpoints come after a number of steps, not of seconds."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.mark.slow
def test_j8_checkpoint_within_an_epoch_resumes_to_the_same_next_step() -> None:
    pixels = _pixels(48)  # 6 steps per epoch
    config = _config(epochs=1)
    full_run: list[dict[str, object]] = []
    policy = CheckpointPolicy(lambda run: full_run.append(run.state_dict()))
    full = pretrain(pixels, config, device=CPU, checkpoints=policy)
    saved: list[dict[str, object]] = []

    def keep_state(run: PretrainRun) -> None:
        saved.append(run.state_dict())

    policy = CheckpointPolicy(keep_state, interval_s=3.0, clock=_StepClock())
    with pytest.raises(PretrainCancelled):
        # No progress reports by wall clock (a slow machine would add some): the checkpoint's own is the one.
        pretrain(pixels, config, device=CPU, checkpoints=policy, should_stop=lambda: bool(saved),
                 progress_interval_s=float("inf"))
    state = saved[0]
    assert state["step"] == 3, "the clock reaches the interval on the third step, half-way through epoch 1"
    assert [point[0] for point in state["loss_history"]] == [3]  # type: ignore[index, union-attr]

    # The next step from the checkpoint equals the uninterrupted run's fourth step.
    uninterrupted = PretrainRun(config, total_steps=6, device=CPU)
    resumed = PretrainRun(config, total_steps=6, device=CPU)
    resumed.load_state_dict(state)
    assert resumed.step == 3
    batches = list(epoch_batches(48, schedule_for(48, config), config.seed, 0))
    for rows in batches[:3]:
        uninterrupted.train_step(torch.from_numpy(pixels[rows]))
    next_batch = torch.from_numpy(pixels[batches[3]])
    torch.testing.assert_close(resumed.train_step(next_batch), uninterrupted.train_step(next_batch), rtol=0, atol=0)
    for a, b in zip(uninterrupted.state_dict()["model"].values(), resumed.state_dict()["model"].values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)

    # And the whole resumed run ends where the uninterrupted one did, with the same epoch-end checkpoint.
    after_resume: list[dict[str, object]] = []
    resumed_backbone = pretrain(pixels, config, device=CPU, resume_from=state,
                                checkpoints=CheckpointPolicy(lambda run: after_resume.append(run.state_dict())))
    assert [s["step"] for s in after_resume] == [s["step"] for s in full_run] == [6]
    for a, b in zip(full.state_dict().values(), resumed_backbone.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.slow
def test_a_compiled_run_trains_like_an_eager_one() -> None:
    batch = torch.from_numpy(_pixels(8))
    eager = PretrainRun(_config(), total_steps=3, device=CPU)
    fast = PretrainRun(_config(torch_compile=True), total_steps=3, device=CPU)
    assert fast.network is not fast.model
    # The first step starts from equal weights: equal losses up to rounding. Later losses depend on the
    # updates, which drift apart a little (Adam's first steps follow the signs of gradients, and rounding
    # flips those near zero): 0.3% after two steps was seen.
    torch.testing.assert_close(fast.train_step(batch), eager.train_step(batch), rtol=1e-3, atol=1e-4)
    for _ in range(2):
        torch.testing.assert_close(fast.train_step(batch), eager.train_step(batch), rtol=2e-2, atol=1e-3)
    assert fast.encoder().state_dict().keys() == eager.encoder().state_dict().keys()


def test_checkpoint_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="checkpoint interval must be > 0"):
        CheckpointPolicy(lambda run: None, interval_s=0.0)


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least 2 images"):
        pretrain(_pixels(1), _config(), device=CPU)
    with pytest.raises(ValueError, match="uint8"):
        pretrain(_pixels().astype(np.float32), _config(), device=CPU)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown backbone"):
        PretrainConfig(backbone="alexnet")
    with pytest.raises(ValueError, match="batch_size"):
        PretrainConfig(batch_size=1)
    with pytest.raises(ValueError, match="unknown optimizer"):
        PretrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="train_last_stages"):
        PretrainConfig(train_last_stages=0)
    with pytest.raises(ValueError, match="time_budget_s"):
        PretrainConfig(time_budget_s=0.0)


def test_lars_scales_the_learning_rate_with_the_batch() -> None:
    assert PretrainConfig(optimizer="lars", lr=0.2, batch_size=512).optimizer_lr == pytest.approx(0.4)
    assert PretrainConfig(optimizer="adamw", lr=1e-3, batch_size=512).optimizer_lr == pytest.approx(1e-3)
    run = PretrainRun(_config(optimizer="lars", lr=0.2, predictor_lr_scale=10.0), total_steps=4, device=CPU)
    initial = sorted({group["initial_lr"] for group in run.optimizer.param_groups})
    assert initial == pytest.approx([0.2 * 8 / 256, 2.0 * 8 / 256])
    no_decay = [g for g in run.optimizer.param_groups if g["weight_decay"] == 0.0]
    assert all(p.ndim == 1 for g in no_decay for p in g["params"])
    assert all(not g["adapt"] for g in no_decay)


@pytest.mark.slow
def test_time_budget_plans_the_epochs_and_reports_them() -> None:
    reports: list[PretrainProgress] = []
    result = pretrain_with_report(_pixels(), _config(time_budget_s=4.0), on_progress=reports.append, device=CPU)
    assert result.seconds_per_step is not None
    assert result.seconds_per_step > 0
    assert result.epochs >= 1
    # Re-planned while it runs, a budgeted run may end within an epoch (2 steps each).
    assert result.epochs == -(-result.total_steps // 2)
    assert result.epochs_run == result.total_steps / 2
    assert result.stop_reason.startswith("time budget")
    assert reports[-1].epochs == result.epochs
    assert reports[-1].step == result.total_steps


def test_start_from_weights_file_with_frozen_early_stages(tmp_path: Path) -> None:
    first = pretrain(_pixels(), _config(), device=CPU)
    torch.save(first.state_dict(), tmp_path / "first.pt")
    config = _config(init_weights=tmp_path / "first.pt", train_last_stages=1, freeze_norm_stats=True)
    run = PretrainRun(config, total_steps=2, device=CPU)
    assert run.weights_report is not None
    assert run.weights_report.missing == ()
    encoder = run.model.online_encoder
    assert torch.equal(encoder.layer1[0].conv1.weight, first.layer1[0].conv1.weight)
    stats = encoder.layer4[0].bn1.running_mean.clone()
    run.train_step(torch.from_numpy(_pixels(8)))
    assert torch.equal(encoder.layer1[0].conv1.weight, first.layer1[0].conv1.weight)
    assert not torch.equal(encoder.layer4[0].conv1.weight, first.layer4[0].conv1.weight)
    assert torch.equal(encoder.layer4[0].bn1.running_mean, stats)
    assert all(p.requires_grad for p in run.encoder().parameters())


@pytest.mark.slow
def test_continued_pretraining_is_guarded() -> None:
    first = pretrain(_pixels(), _config(), device=CPU)
    result = pretrain_with_report(_pixels(), _config(seed=1), init_state=first.state_dict(), device=CPU)
    assert result.start == "state dict"
    assert result.choice is not None
    assert result.kept in ("pretrained", "initial")
    assert result.reason == result.choice.reason
    shipped = first if result.kept == "initial" else None
    if shipped is not None:
        for a, b in zip(shipped.state_dict().values(), result.backbone.state_dict().values(), strict=True):
            assert torch.equal(a, b)
    assert not result.backbone.training
    unguarded = pretrain_with_report(_pixels(), _config(), device=CPU)
    assert (unguarded.start, unguarded.kept, unguarded.choice) == ("random", "pretrained", None)
    guarded = pretrain_with_report(_pixels(), _config(guard=True), device=CPU)
    assert guarded.choice is not None
    assert guarded.start == "random"


def test_presets_fit_the_device() -> None:
    cpu = preset(CPU, 300)
    gpu = preset(torch.device("cuda"), 300)
    assert 6_000 <= cpu.epochs * 300 <= 12_000
    assert (cpu.image_size, cpu.backbone, cpu.optimizer, cpu.guard) == (32, "resnet18_w32", "adamw", True)
    assert (gpu.optimizer, gpu.lr, gpu.weight_decay) == ("lars", 0.2, 1.5e-6)
    assert gpu.optimizer_lr == pytest.approx(0.2)
    assert gpu.tau_base == 0.99
    assert gpu.warmup_share == pytest.approx(10 / 400)
    assert preset(torch.device("cuda"), 20_000).warmup_share == pytest.approx(0.1)
    # A time budget plans the epochs: the warm-up stays 10 epochs (here 5% of 200), not 2.5% of them.
    assert replace(gpu, epochs=200).warmup_share == pytest.approx(10 / 200)
    assert gpu.batch_size > cpu.batch_size
    assert gpu.epochs >= cpu.epochs
    assert preset(CPU, 100_000).epochs >= 1
    assert preset(torch.device("cuda"), 300, source_size=48).image_size == 48
    with pytest.raises(ValueError, match="at least 2 images"):
        preset(CPU, 1)
