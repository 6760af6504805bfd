"""A time budget that holds: a budgeted pretraining run re-plans its length while it trains.

Planning once from a step time measured at the start fails when the load changes (a 20-minute
budget ran 60 minutes on a machine that got busier). :class:`BudgetPlanner` instead reads the clock
after every step and, every ``replan_interval_s``, measures the step time of the steps since its
last re-plan and re-aims the run (:meth:`~labellight.ml.pretrain.run.PretrainRun.retarget`) so that
its last step ends when the budget, less ``reserve_s`` (the time the guard's scoring of the trained
network needs), ends: the LR's cosine and the EMA rate then reach their ends with the budget. When
the clock passes that point before the planned last step (the load rose within one interval), the
run stops at once.

The overshoot is at most one step plus the error of the reserve; with a step time that changes by a
factor r within the last interval, a run that has not yet been cut ends within (r - 1) x interval of
its point, and the hard stop bounds even that.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from labellight.ml.pretrain.run import PretrainRun

# Re-plan this many times per budget (at least every few seconds of a short one).
_REPLANS_PER_BUDGET = 40
_MIN_REPLAN_INTERVAL_S = 2.0

BUDGET_SPENT = "time budget spent"
BUDGET_PLANNED = "time budget"
EPOCHS_DONE = "planned epochs done"


@dataclass
class BudgetPlanner:
    """Re-plans ``run`` to end by ``deadline`` (a ``clock`` reading) less ``reserve_s``; see the module."""

    budget_s: float
    deadline: float
    clock: Callable[[], float]
    reserve_s: float = 0.0
    replan_interval_s: float = 0.0
    replans: int = 0
    seconds_per_step: float | None = None
    stopped_early: bool = False
    _since: tuple[float, int] | None = field(default=None, repr=False)

    @classmethod
    def start(cls, budget_s: float, clock: Callable[[], float], used_s: float = 0.0) -> BudgetPlanner:
        """A planner for ``budget_s`` seconds of which ``used_s`` are already spent (a resumed run)."""
        interval = max(_MIN_REPLAN_INTERVAL_S, budget_s / _REPLANS_PER_BUDGET)
        return cls(budget_s, clock() + budget_s - used_s, clock, replan_interval_s=interval)

    @property
    def end(self) -> float:
        """The clock reading by which training must end."""
        return self.deadline - self.reserve_s

    def used_s(self) -> float:
        return self.budget_s - (self.deadline - self.clock())

    def begin(self, run: PretrainRun) -> None:
        """Start measuring at ``run``'s current step (call before its first step)."""
        self._since = (self.clock(), run.step)

    def after_step(self, run: PretrainRun) -> None:
        """Called after every step: stop when the time is up, re-plan once an interval has passed."""
        now = self.clock()
        run.budget_used_s = self.budget_s - (self.deadline - now)
        if self._since is None:
            self._since = (now, run.step)
            return
        if now >= self.end:
            self.stopped_early = run.step < run.total_steps
            run.retarget(run.step)
            return
        since_time, since_step = self._since
        if now - since_time < self.replan_interval_s or run.step <= since_step:
            return
        self.seconds_per_step = (now - since_time) / (run.step - since_step)
        steps_left = math.floor((self.end - now) / self.seconds_per_step)
        run.retarget(run.step + max(steps_left, 0))
        self.replans += 1
        self._since = (now, run.step)

    def reason(self, run: PretrainRun, steps_per_epoch: int) -> str:
        """Why the run stopped, with its figures, in words."""
        used = self.used_s()
        epochs = run.step / max(steps_per_epoch, 1)
        ran = f"{run.step} steps ({epochs:.2f} epochs) in {used:.0f} s of the {self.budget_s:.0f} s budget"
        if self.stopped_early:
            return f"{BUDGET_SPENT}: stopped before the planned end; {ran}, re-planned {self.replans} times"
        return f"{BUDGET_PLANNED}: re-planned {self.replans} times to end with the budget; {ran}"
