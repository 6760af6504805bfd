"""`labellight bench` end to end on a tiny generated train/test tree: the real pipeline in-process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from labellight.bench.data import Annotator, BenchInputError, read_tree
from labellight.bench.report import MethodRun, default_targets, labels_to_reach, markdown_table, reach_table, summarise
from tests.synthetic_images import dataset


def _tree(root: Path) -> Path:
    for split, per_class, seed in (("train", 20, 1), ("test", 10, 2)):
        for name, kind, data in dataset(per_class=per_class, seed=seed):
            folder = root / split / kind
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
    return root


def _bench(*args: str, cwd: Path, pretrained: bool = False) -> subprocess.CompletedProcess[str]:
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("LABELLIGHT_")}
    # By default the pipeline on a small network from scratch and a 64-px cache: continued pretraining of the
    # ImageNet start at 128 px takes minutes on a shared CPU whatever the budget (one epoch at least), and so
    # does the supervised baseline on 128-px pixels; neither is what this checks.
    run_env.update(LABELLIGHT_PRETRAINED=str(pretrained).lower(), LABELLIGHT_CACHE_IMAGE_SIZE="64")
    return subprocess.run([sys.executable, "-m", "labellight.cli", "bench", *args], capture_output=True, text=True,
                          env=run_env, cwd=cwd, timeout=600)


def test_bench_runs_the_pipeline_and_writes_its_figures(tmp_path: Path) -> None:
    folder, out = _tree(tmp_path / "shapes"), tmp_path / "out"
    result = _bench(str(folder), "--budgets", "3,6", "--strategies", "random,cold_start", "--seeds", "1",
                    "--pretrain-minutes", "0.05", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| labels |" in result.stdout

    figures = json.loads((out / "results.json").read_text())
    methods = set(figures["summary"])
    assert {"random", "cold_start", "raw_pixels", "random_init", "supervised_scratch"} <= methods
    assert figures["train_images"] == 60
    assert figures["test_images"] == 30
    # The reported pretraining is the one that ran: its epochs and the shipped backbone's configuration.
    assert figures["pretrain"]["epochs"] == figures["pretrain"]["job_result"]["epochs"] >= 1
    assert figures["pretrain"]["config"]["backbone"] == figures["pretrain"]["backbone"]
    for run in figures["runs"]:
        assert set(run["accuracy"]) == {"3", "6"}
        assert all(0.0 <= a <= 1.0 for a in run["accuracy"].values())
    table = (out / "results.md").read_text()
    assert "| 3 |" in table
    assert "| 6 |" in table
    assert "cold_start" in table
    with Image.open(out / "learning_curve.png") as png:
        assert png.format == "PNG"
        assert png.width > 100
    assert not (tmp_path / "data").exists(), "bench must not touch the configured data folder"


def test_bench_rejects_a_folder_without_test_split(tmp_path: Path) -> None:
    folder = _tree(tmp_path / "shapes")
    for image in (folder / "test").rglob("*.png"):
        image.unlink()
    for class_dir in sorted((folder / "test").iterdir()):
        class_dir.rmdir()
    (folder / "test").rmdir()
    result = _bench(str(folder), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode != 0
    assert "no test/ folder" in result.stderr


def test_input_tree_errors_say_what_is_wrong(tmp_path: Path) -> None:
    folder = _tree(tmp_path / "shapes")
    (folder / "test" / "hexagon").mkdir()
    (folder / "test" / "hexagon" / "x.png").write_bytes(next((folder / "test" / "circle").iterdir()).read_bytes())
    with pytest.raises(BenchInputError, match="classes differ"):
        read_tree(folder)
    with pytest.raises(BenchInputError, match="no train/ folder"):
        read_tree(tmp_path)


def test_annotator_answers_from_hidden_labels_and_refuses_strangers() -> None:
    annotator = Annotator({1: 10, 2: 11, 3: 10})
    assert annotator.label([3, 2, 1]) == {10: [3, 1], 11: [2]}
    with pytest.raises(KeyError):
        annotator.label([4])


def test_table_shows_mean_and_spread_per_budget() -> None:
    summary = summarise([MethodRun("auto", 0, {10: 0.2, 20: 0.4}), MethodRun("auto", 1, {10: 0.4, 20: 0.4}),
                         MethodRun("raw_pixels", 0, {10: 0.1})])
    assert abs(summary["auto"][10].mean - 0.3) < 1e-9
    table = markdown_table(summary).splitlines()
    assert table[0] == "| labels | auto | raw_pixels |"
    assert table[2] == "| 10 | 30.0 ± 14.1 | 10.0 ± 0.0 |"
    assert table[3] == "| 20 | 40.0 ± 0.0 | – |"


def test_bench_without_pretraining_scores_the_frozen_start_and_what_reaches_what(tmp_path: Path) -> None:
    folder, out = _tree(tmp_path / "shapes"), tmp_path / "out"
    result = _bench(str(folder), "--budgets", "4,8", "--strategies", "random", "--seeds", "2",
                    "--pretrain-minutes", "0", "--baselines", "frozen_pretrained", "--targets", "40,101",
                    "--out", str(out), cwd=tmp_path, pretrained=True)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "between 0 and 100%" in result.stderr
    result = _bench(str(folder), "--budgets", "4,8", "--strategies", "random", "--seeds", "2",
                    "--pretrain-minutes", "0", "--baselines", "frozen_pretrained", "--targets", "40,99",
                    "--out", str(out), cwd=tmp_path, pretrained=True)
    assert result.returncode == 0, result.stderr[-3000:]

    figures = json.loads((out / "results.json").read_text())
    assert figures["pretrain"]["epochs"] == 0
    assert figures["pretrain"]["start"] == "frozen pretrained"
    assert set(figures["summary"]) == {"random", "frozen_pretrained"}
    # No BYOL ran, so the random runs' classifier sits on the frozen features: the baseline on the same
    # labels is the same head on the same vectors.
    for budget in ("4", "8"):
        assert figures["summary"]["frozen_pretrained"][budget]["mean"] == pytest.approx(
            figures["summary"]["random"][budget]["mean"], abs=0.04)
    assert set(figures["labels_to_reach"]["random"]) == {"40", "99"}
    assert "Labels needed to reach" in (out / "results.md").read_text()


def test_labels_to_reach_interpolates_the_mean_curve_and_says_when_it_never_gets_there() -> None:
    summary = summarise([MethodRun("auto", 0, {10: 0.4, 100: 0.6}), MethodRun("random", 0, {10: 0.2, 100: 0.5})])
    table = labels_to_reach(summary, [0.3, 0.5, 0.6])
    assert table["auto"][0.3].text() == "≤ 10"
    assert table["auto"][0.5].labels == pytest.approx(10 ** 1.5)  # halfway in log labels
    assert table["auto"][0.6].labels == pytest.approx(100)
    assert table["random"][0.6].text() == "not reached"
    assert table["random"][0.3].labels == pytest.approx(10 ** (1 + 1 / 3))
    assert default_targets(summary) == [0.5]  # what random reaches after its first budget
    assert "| 60% | 100 | not reached |" in reach_table(table)
