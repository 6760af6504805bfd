from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from labellight.ml.checkpoint import config_from_json, load_state_dict, pretrain_checkpoint, save_state_dict
from labellight.ml.pretrain import PretrainConfig, PretrainRun


def test_module_round_trip(tmp_path: Path) -> None:
    module = nn.Linear(3, 2)
    path = tmp_path / "sub" / "model.pt"
    save_state_dict(module, path)
    other = nn.Linear(3, 2)
    other.load_state_dict(load_state_dict(path))
    assert torch.equal(other.weight, module.weight)
    assert torch.equal(other.bias, module.bias)
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temporary file left


def test_nested_state_with_rng_round_trips(tmp_path: Path) -> None:
    state: dict[str, object] = {
        "step": 7,
        "rng": torch.Generator().manual_seed(1).get_state(),
        "inner": {"w": torch.ones(2)},
    }
    save_state_dict(state, tmp_path / "state.pt")
    loaded = load_state_dict(tmp_path / "state.pt")
    assert loaded["step"] == 7
    assert torch.equal(loaded["rng"], torch.Generator().manual_seed(1).get_state())
    assert torch.equal(loaded["inner"]["w"], torch.ones(2))


class _Unsaveable:
    def __reduce__(self) -> str:
        raise RuntimeError("cannot be saved")


def test_j2_failed_write_keeps_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    save_state_dict({"w": torch.zeros(1)}, path)
    with pytest.raises(RuntimeError, match="cannot be saved"):
        save_state_dict({"w": _Unsaveable()}, path)
    assert torch.equal(load_state_dict(path)["w"], torch.zeros(1))
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_a6_load_refuses_non_state_dict(tmp_path: Path) -> None:
    torch.save(torch.zeros(2), tmp_path / "tensor.pt")
    with pytest.raises(ValueError, match="does not hold a state dict"):
        load_state_dict(tmp_path / "tensor.pt")


def test_pretrain_checkpoint_holds_the_planned_run_and_reloads(tmp_path: Path) -> None:
    config = PretrainConfig(backbone="resnet18_w16", image_size=16, epochs=3, batch_size=4, proj_hidden=8,
                            proj_dim=4, pred_hidden=8, time_budget_s=60.0, init_weights=tmp_path / "start.pt")
    run = PretrainRun(replace(config, init_weights=None), total_steps=6, device=torch.device("cpu"))
    run.config = config  # as planned by a time budget, from a weights file
    save_state_dict(pretrain_checkpoint(run, {"images": 12}), tmp_path / "checkpoint.pt")
    loaded = load_state_dict(tmp_path / "checkpoint.pt")
    assert loaded["images"] == 12
    assert loaded["config"]["time_budget_s"] is None, "the plan is fixed once made"
    assert loaded["config"]["init_weights"] == str(tmp_path / "start.pt")
    assert config_from_json(loaded["config"]) == replace(config, time_budget_s=None)
    other = PretrainRun(replace(config, init_weights=None), total_steps=6, device=torch.device("cpu"))
    other.load_state_dict(loaded["run"])
    assert other.step == 0
    for a, b in zip(run.model.state_dict().values(), other.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
