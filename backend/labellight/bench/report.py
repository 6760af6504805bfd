"""The benchmark's figures: mean and spread per method and budget, a markdown table, a learning-curve PNG."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Tableau 10, the app's class palette: distinct for most colour-blind viewers.
LINE_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")


@dataclass(frozen=True)
class MethodRun:
    """Test accuracy of one method (strategy or baseline) with one seed, at each budget."""

    method: str
    seed: int
    accuracy: dict[int, float]


@dataclass(frozen=True)
class Cell:
    mean: float
    std: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return {"mean": round(self.mean, 4), "std": round(self.std, 4), "n": self.n}


Summary = dict[str, dict[int, Cell]]
_Font = ImageFont.ImageFont | ImageFont.FreeTypeFont


def summarise(runs: list[MethodRun]) -> Summary:
    """Mean and sample standard deviation over seeds (0 for a single seed), per method and budget,
    methods in the order they first appear."""
    grouped: dict[str, dict[int, list[float]]] = {}
    for run in runs:
        by_budget = grouped.setdefault(run.method, {})
        for budget, accuracy in run.accuracy.items():
            if not 0.0 <= accuracy <= 1.0:
                raise ValueError(f"{run.method} seed {run.seed}: accuracy {accuracy} at {budget} is outside [0, 1]")
            by_budget.setdefault(budget, []).append(accuracy)
    return {method: {budget: _cell(values) for budget, values in sorted(by_budget.items())}
            for method, by_budget in grouped.items()}


def _cell(values: list[float]) -> Cell:
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return Cell(float(np.mean(values)), std, len(values))


def summary_as_json(summary: Summary) -> dict[str, dict[str, dict[str, float | int]]]:
    return {method: {str(b): cell.as_dict() for b, cell in cells.items()} for method, cells in summary.items()}


def markdown_table(summary: Summary) -> str:
    """Budget rows x method columns, test accuracy in percent as ``mean ± std`` over seeds."""
    methods = list(summary)
    budgets = sorted({b for cells in summary.values() for b in cells})
    lines = ["| labels | " + " | ".join(methods) + " |", "|---:|" + "---:|" * len(methods)]
    for budget in budgets:
        row = [_format(summary[m].get(budget)) for m in methods]
        lines.append(f"| {budget} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def _format(cell: Cell | None) -> str:
    if cell is None:
        return "–"
    return f"{100 * cell.mean:.1f} ± {100 * cell.std:.1f}"


@dataclass(frozen=True)
class Reach:
    """Labels a method needs to reach a target accuracy: ``labels`` None when its curve never gets there;
    ``at_most`` when it is already there at its first budget (the curve says nothing below it)."""

    labels: float | None
    at_most: bool = False

    def text(self) -> str:
        if self.labels is None:
            return "not reached"
        return f"≤ {self.labels:.0f}" if self.at_most else f"{self.labels:.0f}"


def reach(cells: dict[int, Cell], target: float) -> Reach:
    """Labels where the mean curve first reaches ``target`` (a fraction), interpolated linearly in
    log(labels) between the budget below the target and the first budget at or above it."""
    budgets = sorted(cells)
    for index, budget in enumerate(budgets):
        high = cells[budget].mean
        if high < target:
            continue
        if index == 0:
            return Reach(float(budget), at_most=True)
        below = budgets[index - 1]
        low = cells[below].mean
        share = (target - low) / (high - low)
        return Reach(float(math.exp(math.log(below) + share * (math.log(budget) - math.log(below)))))
    return Reach(None)


ReachTable = dict[str, dict[float, Reach]]


def labels_to_reach(summary: Summary, targets: list[float]) -> ReachTable:
    """Per method, the labels needed to reach each target accuracy (fractions)."""
    return {method: {t: reach(cells, t) for t in targets} for method, cells in summary.items()}


def default_targets(summary: Summary, reference: str = "random") -> list[float]:
    """What the reference method (else the first) reaches at each budget after its first, in whole
    percent rounded down: "labels needed to match random at 20, 50, ... labels"."""
    if not summary:
        return []
    cells = summary.get(reference) or next(iter(summary.values()))
    return sorted({math.floor(100 * cell.mean) / 100 for cell in list(cells.values())[1:]})


def reach_as_json(table: ReachTable) -> dict[str, dict[str, dict[str, float | bool | None]]]:
    return {method: {f"{100 * t:.0f}": {"labels": None if r.labels is None else round(r.labels, 1),
                                         "at_most": r.at_most} for t, r in by_target.items()}
            for method, by_target in table.items()}


def reach_table(table: ReachTable) -> str:
    """Target rows x method columns: labels needed to reach each test accuracy."""
    if not table:
        return ""
    methods = list(table)
    targets = sorted({t for by_target in table.values() for t in by_target})
    lines = ["Labels needed to reach a test accuracy (mean curve, interpolated in log labels):\n",
             "| accuracy | " + " | ".join(methods) + " |", "|---:|" + "---:|" * len(methods)]
    for target in targets:
        lines.append(f"| {100 * target:.0f}% | " + " | ".join(table[m][target].text() for m in methods) + " |")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class _Frame:
    """The plot area inside the image and the data ranges it maps."""

    left: int
    top: int
    right: int
    bottom: int
    budgets: tuple[float, float]
    accuracy: tuple[float, float]

    def x(self, budget: float) -> float:
        lo, hi = (math.log(b) for b in self.budgets)
        share = 0.5 if hi == lo else (math.log(budget) - lo) / (hi - lo)
        return self.left + share * (self.right - self.left)

    def y(self, accuracy: float) -> float:
        lo, hi = self.accuracy
        return self.bottom - (accuracy - lo) / (hi - lo) * (self.bottom - self.top)


def learning_curve_png(summary: Summary, path: Path, title: str, size: tuple[int, int] = (900, 560)) -> None:
    """Accuracy against labels (log scale), one line per method with ± std bars; written with Pillow."""
    budgets = sorted({b for cells in summary.values() for b in cells})
    if not budgets:
        raise ValueError("nothing to plot: the summary holds no budget")
    means = [c.mean for cells in summary.values() for c in cells.values()]
    low, high = math.floor(min(means) * 10) / 10, min(1.0, math.ceil(max(means) * 10) / 10)
    frame = _Frame(70, 40, size[0] - 220, size[1] - 50, (budgets[0], budgets[-1]),
                   (low, high if high > low else low + 0.1))
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    _axes(draw, frame, budgets, font, title)
    for index, (method, cells) in enumerate(summary.items()):
        colour = LINE_COLOURS[index % len(LINE_COLOURS)]
        points = [(frame.x(b), frame.y(c.mean)) for b, c in cells.items()]
        if len(points) > 1:
            draw.line(points, fill=colour, width=3)
        for (px, _), cell in zip(points, cells.values(), strict=True):
            draw.line([(px, frame.y(cell.mean - cell.std)), (px, frame.y(cell.mean + cell.std))], fill=colour, width=1)
            py = frame.y(cell.mean)
            draw.ellipse((px - 4, py - 4, px + 4, py + 4), fill=colour)
        legend_y = frame.top + 18 * index
        draw.line([(frame.right + 20, legend_y + 6), (frame.right + 45, legend_y + 6)], fill=colour, width=3)
        draw.text((frame.right + 52, legend_y), method, fill="black", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")


def _axes(draw: ImageDraw.ImageDraw, frame: _Frame, budgets: list[int], font: _Font, title: str) -> None:
    draw.rectangle((frame.left, frame.top, frame.right, frame.bottom), outline="black")
    low, high = frame.accuracy
    for step in range(round((high - low) * 10) + 1):
        value = low + step / 10
        y = frame.y(value)
        draw.line([(frame.left, y), (frame.right, y)], fill="#dddddd")
        draw.text((frame.left - 40, y - 6), f"{100 * value:.0f}%", fill="black", font=font)
    for budget in budgets:
        x = frame.x(budget)
        draw.line([(x, frame.top), (x, frame.bottom)], fill="#eeeeee")
        draw.text((x - 8, frame.bottom + 8), str(budget), fill="black", font=font)
    draw.text((frame.left, frame.bottom + 28), "labels (log scale)", fill="black", font=font)
    draw.text((frame.left, 12), title, fill="black", font=font)
