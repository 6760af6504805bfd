"""Side-by-side throughput measurement: the sides run in alternating rounds within one process, so
that noise from other work on the machine hits every side alike; figures are printed, never asserted."""

from __future__ import annotations

import json
import os
import resource
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch


def load_average() -> str:
    """The 1/5/15-minute load averages and the core count, e.g. ``'1.02 0.80 0.55 on 2 cores'``."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def synchronize(device: torch.device) -> None:
    """Wait for queued device work, so that a timer covers the work and not only its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def cpu_seconds() -> float:
    """CPU time of this process (all threads) and of its waited-for children (DataLoader workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@dataclass(frozen=True)
class Measurement:
    """``images`` trained or embedded in ``wall_s`` seconds, using ``cpu_s`` CPU seconds (with workers)."""

    images: int
    wall_s: float
    cpu_s: float

    @property
    def images_per_s(self) -> float:
        return self.images / self.wall_s

    @property
    def cpu_ms_per_image(self) -> float:
        return 1000.0 * self.cpu_s / self.images


def measure(device: torch.device, work: Callable[[], int]) -> Measurement:
    """Time ``work`` (which returns the number of images it processed) in wall and CPU seconds."""
    synchronize(device)
    wall, cpu = time.perf_counter(), cpu_seconds()
    images = work()
    synchronize(device)
    return Measurement(images, time.perf_counter() - wall, cpu_seconds() - cpu)


def run_rounds(sides: Mapping[str, Callable[[], Measurement]], rounds: int) -> dict[str, list[Measurement]]:
    """Call every side once per round and collect the measurements per side.

    The order of the sides is reversed every other round, so neither always runs first after the
    other has warmed (or heated) the machine. Each round's figures are printed as they come.
    """
    names = list(sides)
    results: dict[str, list[Measurement]] = {name: [] for name in names}
    for round_index in range(rounds):
        order = names if round_index % 2 == 0 else names[::-1]
        for name in order:
            results[name].append(sides[name]())
        figures = "  ".join(
            f"{name} {results[name][-1].images_per_s:7.1f} ({results[name][-1].cpu_ms_per_image:.1f} cpu-ms/img)"
            for name in names
        )
        print(f"round {round_index + 1}/{rounds}: images/s  {figures}  load {load_average()}", flush=True)
    return results


def summarize(results: Mapping[str, list[Measurement]], ours: str) -> dict[str, dict[str, float]]:
    """Per side: median images/s and CPU ms per image. For every other side: the median over rounds
    of ours / theirs in images/s (with its range), and theirs / ours in CPU time per image."""
    summary: dict[str, dict[str, float]] = {}
    for name, measurements in results.items():
        entry = {
            "median_images_per_s": statistics.median(m.images_per_s for m in measurements),
            "median_cpu_ms_per_image": statistics.median(m.cpu_ms_per_image for m in measurements),
        }
        if name != ours:
            pairs = list(zip(results[ours], measurements, strict=True))
            ratios = [mine.images_per_s / theirs.images_per_s for mine, theirs in pairs]
            entry["median_ratio"] = statistics.median(ratios)
            entry["min_ratio"], entry["max_ratio"] = min(ratios), max(ratios)
            entry["median_cpu_ratio"] = statistics.median(
                theirs.cpu_ms_per_image / mine.cpu_ms_per_image for mine, theirs in pairs
            )
        summary[name] = entry
    return summary


def print_summary(summary: Mapping[str, Mapping[str, float]], ours: str, target: float) -> None:
    """One line per side; ratios are ours / theirs in images/s, with the target they are read against."""
    mine = summary[ours]
    print(
        f"median over rounds: {ours} {mine['median_images_per_s']:.1f} images/s, "
        f"{mine['median_cpu_ms_per_image']:.1f} cpu-ms/image"
    )
    for name, entry in summary.items():
        if name == ours:
            continue
        print(
            f"  {name}: {entry['median_images_per_s']:.1f} images/s, "
            f"{entry['median_cpu_ms_per_image']:.1f} cpu-ms/image; {ours} / {name} = {entry['median_ratio']:.2f}x "
            f"in images/s (rounds {entry['min_ratio']:.2f}-{entry['max_ratio']:.2f}; target {target}x), "
            f"{entry['median_cpu_ratio']:.2f}x less CPU per image"
        )


def as_json(results: Mapping[str, list[Measurement]]) -> dict[str, list[dict[str, float]]]:
    """The measurements of every round, for the JSON record."""
    return {
        name: [{"images": m.images, "wall_s": m.wall_s, "cpu_s": m.cpu_s} for m in measurements]
        for name, measurements in results.items()
    }


def write_json(path: Path | None, payload: Mapping[str, Any]) -> None:
    """Write the run's settings and figures to ``path`` (parents created) when one is given."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {path}")
