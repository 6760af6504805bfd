"""J2: a process killed (SIGKILL, no clean-up runs) while it writes a checkpoint leaves the previous
checkpoint intact and loadable."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from labellight.ml.checkpoint import load_state_dict, save_state_dict

pytestmark = pytest.mark.slow  # starts and kills Python processes that import torch

# Writes half of a new checkpoint through the real atomic writer, says so, then waits to be killed.
HALF_WRITE = """
import sys, time
from pathlib import Path
from labellight.common.atomic_file import atomic_path
with atomic_path(Path(sys.argv[1])) as tmp, tmp.open("wb") as f:
    f.write(b"\\0" * 1_000_000)
    f.flush()
    print("half", flush=True)
    time.sleep(60)
"""

# Saves large checkpoints over the target, again and again, until killed.
SAVE_FOREVER = """
import sys, torch
from pathlib import Path
from labellight.ml.checkpoint import save_state_dict
for step in range(1, 1_000_000):
    save_state_dict({"step": step, "w": torch.full((8_000_000,), float(step))}, Path(sys.argv[1]))
    print(step, flush=True)
"""


def _previous(path: Path) -> None:
    save_state_dict({"step": 0, "w": torch.zeros(8_000_000)}, path)


def _kill(process: subprocess.Popen[str]) -> None:
    process.kill()
    process.wait(timeout=30)
    if process.stdout is not None:
        process.stdout.close()


def test_j2_a_kill_in_the_middle_of_a_checkpoint_write_keeps_the_previous_one(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    _previous(path)
    writer = subprocess.Popen([sys.executable, "-c", HALF_WRITE, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "half"
        torn = [p for p in tmp_path.iterdir() if p != path]
        assert len(torn) == 1
        assert torn[0].stat().st_size == 1_000_000  # the new file is really half-written
    finally:
        _kill(writer)
    state = load_state_dict(path)
    assert state["step"] == 0
    assert torch.equal(state["w"], torch.zeros(8_000_000))


def test_j2_a_kill_at_any_moment_of_repeated_saves_leaves_a_whole_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    _previous(path)
    writer = subprocess.Popen([sys.executable, "-c", SAVE_FOREVER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "1"
        # Kill it while the next save is under way: a temporary file exists and is still growing.
        deadline = time.monotonic() + 60
        while not [p for p in tmp_path.iterdir() if p != path and p.stat().st_size > 0]:
            assert time.monotonic() < deadline, "no second save started"
    finally:
        _kill(writer)
    state = load_state_dict(path)
    step = int(state["step"])
    assert step >= 1
    assert torch.equal(state["w"], torch.full((8_000_000,), float(step)))
