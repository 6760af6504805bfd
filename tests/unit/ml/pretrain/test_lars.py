import copy

import pytest
import torch
from torch import nn

from labellight.ml.pretrain.lars import LARS, split_decay_groups


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))


def _grads(model: nn.Module) -> None:
    model(torch.randn(16, 4)).square().mean().backward()


def test_split_puts_biases_and_norm_parameters_apart() -> None:
    weights, excluded = split_decay_groups(_model())
    assert [p.shape for p in weights] == [(8, 4), (2, 8)]
    assert sorted(p.numel() for p in excluded) == [2, 8, 8, 8]


def test_step_matches_the_lars_equations() -> None:
    model = _model()
    _grads(model)
    w = model[0].weight
    before, grad = w.detach().clone(), w.grad.clone()  # type: ignore[union-attr]
    lr, wd, eta = 0.5, 0.01, 1e-3
    LARS([w], lr=lr, weight_decay=wd, eta=eta, momentum=0.9).step()
    update = grad + wd * before
    trust = eta * before.norm() / update.norm()
    torch.testing.assert_close(w.detach(), before - lr * trust * update)


def test_momentum_accumulates_across_steps() -> None:
    w = nn.Parameter(torch.ones(3, 3))
    opt = LARS([w], lr=1.0, momentum=0.5, adapt=False)
    for _ in range(2):
        w.grad = torch.ones(3, 3)
        opt.step()
    # v1 = 1, v2 = 0.5 * 1 + 1 = 1.5: w = 1 - 1 - 1.5
    torch.testing.assert_close(w.detach(), torch.full((3, 3), -1.5))


def test_excluded_group_is_plain_sgd_without_decay() -> None:
    b = nn.Parameter(torch.full((4,), 2.0))
    b.grad = torch.full((4,), 0.5)
    LARS([{"params": [b], "weight_decay": 0.0, "adapt": False}], lr=0.1, weight_decay=1.0).step()
    torch.testing.assert_close(b.detach(), torch.full((4,), 2.0 - 0.1 * 0.5))


def test_zero_weights_or_gradients_use_trust_one() -> None:
    w = nn.Parameter(torch.zeros(2, 2))
    w.grad = torch.ones(2, 2)
    LARS([w], lr=0.1).step()
    torch.testing.assert_close(w.detach(), torch.full((2, 2), -0.1))
    v = nn.Parameter(torch.ones(2, 2))
    v.grad = torch.zeros(2, 2)
    LARS([v], lr=0.1).step()
    assert torch.equal(v.detach(), torch.ones(2, 2))


def test_state_round_trip_continues_identically() -> None:
    a = _model()
    b = copy.deepcopy(a)
    opt_a = LARS(a.parameters(), lr=0.3, weight_decay=1e-4)
    for _ in range(2):
        opt_a.zero_grad()
        _grads(a)
        opt_a.step()
    b.load_state_dict(a.state_dict())
    opt_b = LARS(b.parameters(), lr=0.3, weight_decay=1e-4)
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))
    for model, opt in ((a, opt_a), (b, opt_b)):
        opt.zero_grad()
        torch.manual_seed(5)
        _grads(model)
        opt.step()
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_invalid_settings_are_rejected() -> None:
    w = [nn.Parameter(torch.ones(1))]
    with pytest.raises(ValueError, match="lr"):
        LARS(w, lr=0.0)
    with pytest.raises(ValueError, match="momentum"):
        LARS(w, lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="eta"):
        LARS(w, lr=0.1, eta=0.0)
