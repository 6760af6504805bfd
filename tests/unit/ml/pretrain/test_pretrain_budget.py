"""A time budget holds when the step time changes mid-run: the real loop on small synthetic data, timed by a
simulated clock that advances by a set step time at every optimiser step (so no figure depends on the
machine's speed)."""

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from labellight.ml.pretrain import PretrainConfig, PretrainProgress, pretrain_with_report
from labellight.ml.pretrain.budget import BUDGET_PLANNED, EPOCHS_DONE
from labellight.ml.pretrain.run import PretrainRun

CPU = torch.device("cpu")
BUDGET_S = 100.0


class StepClock:
    """Simulated seconds: every optimiser step (the budget's probe and the run alike) takes ``before``
    seconds until ``change_at`` steps have run, ``after`` seconds from then on (the load changed)."""

    def __init__(self, before: float, after: float, change_at: int) -> None:
        self.now, self.steps = 0.0, 0
        self.before, self.after, self.change_at = before, after, change_at

    def __call__(self) -> float:
        return self.now

    def step(self, *_: object) -> None:
        self.now += self.before if self.steps < self.change_at else self.after
        self.steps += 1


@pytest.fixture
def clock_for() -> Iterator[list[StepClock]]:
    clocks: list[StepClock] = []
    handle = register_optimizer_step_post_hook(lambda *args: clocks[-1].step() if clocks else None)
    yield clocks
    handle.remove()


def _config(**overrides: object) -> PretrainConfig:
    base: dict[str, object] = dict(backbone="resnet18_w16", image_size=16, epochs=1, batch_size=8, proj_hidden=32,
                                   proj_dim=16, pred_hidden=32, guard=False)
    base.update(overrides)
    return PretrainConfig(**base)  # type: ignore[arg-type]


def _pixels(n: int = 32) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)


@pytest.mark.parametrize(("before", "after"), [(1.0, 3.0), (2.0, 0.5)], ids=["load-rises", "load-falls"])
def test_a_budgeted_run_ends_within_ten_percent_of_its_budget_when_the_step_time_changes(
    clock_for: list[StepClock], before: float, after: float
) -> None:
    clock = StepClock(before, after, change_at=25)
    clock_for.append(clock)
    reports: list[PretrainProgress] = []
    result = pretrain_with_report(_pixels(), _config(time_budget_s=BUDGET_S), on_progress=reports.append,
                                  device=CPU, clock=clock, progress_interval_s=0.0)
    # Planned once from the first step time, the runs took 2.41x and 0.62x the budget.
    assert abs(clock.now - BUDGET_S) <= 0.1 * BUDGET_S, (clock.now, result.stop_reason)
    assert result.elapsed_s is not None
    assert abs(result.elapsed_s - BUDGET_S) <= 0.1 * BUDGET_S
    assert result.replans > 0
    assert result.stop_reason.startswith(BUDGET_PLANNED), result.stop_reason
    assert result.total_steps == reports[-1].step
    assert result.epochs_run == pytest.approx(result.total_steps / 4, abs=1e-3)  # 4 steps per epoch
    first_plan = next(r.total_steps for r in reports if r.step > 0)
    assert (result.total_steps < first_plan) if after > before else (result.total_steps > first_plan)
    assert reports[-1].budget_s == BUDGET_S
    assert reports[-1].replans == result.replans


def test_a_run_without_a_budget_runs_its_epochs_and_says_so() -> None:
    result = pretrain_with_report(_pixels(), _config(epochs=2), device=CPU)
    assert (result.epochs, result.total_steps, result.epochs_run) == (2, 8, 2.0)
    assert result.stop_reason.startswith(EPOCHS_DONE)
    assert result.budget_s is None
    assert result.elapsed_s is None


def test_retargeting_keeps_the_schedules_continuous_and_ends_them_at_the_new_last_step() -> None:
    run = PretrainRun(_config(warmup_fraction=0.1), total_steps=20, device=CPU)
    images = torch.from_numpy(_pixels(8))
    for _ in range(10):
        run.train_step(images)
    lr_before, tau_before = run.scheduler.get_last_lr()[0], run.tau_horizon(run.step)
    run.retarget(40)
    assert run.lr_factor(run.step) * run.config.optimizer_lr == pytest.approx(lr_before)
    assert run.tau_horizon(run.step) == pytest.approx(tau_before)
    assert run.lr_factor(40) == pytest.approx(0.0)
    assert run.tau_horizon(40) == 1.0
    assert 0.0 < run.lr_factor(30) < lr_before / run.config.optimizer_lr
    state = run.state_dict()
    resumed = PretrainRun(_config(warmup_fraction=0.1), total_steps=40, device=CPU)
    resumed.load_state_dict(state)
    assert resumed.lr_factor(25) == pytest.approx(run.lr_factor(25))
