import numpy as np
import pytest
import torch

from labellight.ml.pretrain import (
    PretrainCancelled,
    PretrainConfig,
    PretrainProgress,
    PretrainRun,
    preset,
    pretrain,
)

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
    base: dict[str, object] = dict(image_size=16, epochs=1, batch_size=8, proj_hidden=32, proj_dim=16, pred_hidden=32)
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
    assert last.images_per_s > 0
    assert last.eta_s == 0
    assert not encoder.training
    assert all(p.device.type == "cpu" for p in encoder.parameters())
    assert encoder(torch.randn(2, 3, 16, 16)).shape == (2, 512)


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


def test_resume_reproduces_an_uninterrupted_run() -> None:
    pixels = _pixels()
    config = _config(epochs=2)
    full = pretrain(pixels, config, device=CPU)
    saved: list[dict[str, object]] = []

    def stop_after_first_epoch() -> bool:
        return bool(saved)

    def keep_state(run: PretrainRun) -> None:
        saved.append(run.state_dict())

    with pytest.raises(PretrainCancelled):
        pretrain(pixels, config, device=CPU, on_epoch_end=keep_state, should_stop=stop_after_first_epoch)
    resumed = pretrain(pixels, config, device=CPU, resume_from=saved[0])
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least 2 images"):
        pretrain(_pixels(1), _config(), device=CPU)
    with pytest.raises(ValueError, match="uint8"):
        pretrain(_pixels().astype(np.float32), _config(), device=CPU)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown backbone"):
        PretrainConfig(backbone="alexnet")
    with pytest.raises(ValueError, match="batch_size"):
        PretrainConfig(batch_size=1)


def test_presets_fit_the_device() -> None:
    cpu = preset(CPU, 300)
    gpu = preset(torch.device("cuda"), 300)
    assert 2_000 <= cpu.epochs * 300 <= 4_000
    assert cpu.image_size == 32
    assert gpu.batch_size > cpu.batch_size
    assert gpu.epochs >= cpu.epochs
    assert preset(CPU, 100_000).epochs >= 1
    assert preset(torch.device("cuda"), 300, source_size=48).image_size == 48
    with pytest.raises(ValueError, match="at least 2 images"):
        preset(CPU, 1)
