"""Does a pretraining time budget hold when the load changes mid-run?

Runs BYOL (the CPU preset's network on synthetic 32 px images) for ``--budget`` seconds, and at
``--load-at`` of the budget starts ``--burners`` busy processes that compete for the cores (a machine
that gets busier). Reports the elapsed time over the budget, the steps and epochs run and why it
stopped. ``--plan-once`` disables the re-planning (the run keeps the epochs planned from the step
time measured at its start, as before re-planning existed) for a side-by-side figure.

    OMP_NUM_THREADS=2 python benchmarks/budget_holds.py --budget 60
    OMP_NUM_THREADS=2 python benchmarks/budget_holds.py --budget 60 --plan-once
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from dataclasses import replace

import numpy as np
import torch

from labellight.ml.pretrain import budget as pretrain_budget
from labellight.ml.pretrain import preset, pretrain_with_report


def _burn(count: int, start_after_s: float, stop: threading.Event) -> None:
    if stop.wait(start_after_s):
        return
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    stop.wait()
    for process in burners:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--load-at", type=float, default=0.3, help="share of the budget before the load starts")
    parser.add_argument("--burners", type=int, default=2, help="busy processes started then")
    parser.add_argument("--plan-once", action="store_true", help="no re-planning (for comparison)")
    args = parser.parse_args()
    if args.plan_once:
        def elapsed_only(self: pretrain_budget.BudgetPlanner, run: object) -> None:
            run.budget_used_s = self.used_s()  # type: ignore[attr-defined]

        pretrain_budget.BudgetPlanner.after_step = elapsed_only  # type: ignore[method-assign]
    pixels = np.random.default_rng(0).integers(0, 256, (args.images, 32, 32, 3), dtype=np.uint8)
    cpu = torch.device("cpu")
    config = replace(preset(cpu, args.images, source_size=32), time_budget_s=args.budget, guard=False)
    stop = threading.Event()
    burner = threading.Thread(target=_burn, args=(args.burners, args.load_at * args.budget, stop))
    started = time.monotonic()
    burner.start()
    try:
        result = pretrain_with_report(pixels, config, device=cpu)
    finally:
        stop.set()
        burner.join()
    elapsed = time.monotonic() - started
    mode = "planned once" if args.plan_once else "re-planned"
    print(f"{mode}: budget {args.budget:.0f} s, elapsed {elapsed:.1f} s, ratio {elapsed / args.budget:.3f}; "
          f"{result.total_steps} steps = {result.epochs_run:g} epochs; {args.burners} busy processes from "
          f"{args.load_at:.0%} of the budget; stop: {result.stop_reason}")


if __name__ == "__main__":
    main()
