import copy
import itertools

import pytest
import torch
from torch import nn

from labellight.ml.byol.momentum import cosine_tau, ema_update


def _pair() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    online = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
    target = copy.deepcopy(online)
    for p in target.parameters():
        p.data.normal_()
    online.train()(torch.randn(6, 4))  # moves online's BatchNorm running statistics
    return target, online


def test_tau_one_leaves_target_parameters_unchanged() -> None:
    target, online = _pair()
    before = [p.clone() for p in target.parameters()]
    ema_update(target, online, tau=1.0)
    for old, new in zip(before, target.parameters(), strict=True):
        assert torch.equal(old, new)


def test_tau_zero_copies_online() -> None:
    target, online = _pair()
    ema_update(target, online, tau=0.0)
    for t, o in zip(target.state_dict().values(), online.state_dict().values(), strict=True):
        assert torch.equal(t, o)


def test_intermediate_tau_is_convex_combination_and_buffers_are_copied() -> None:
    target, online = _pair()
    before = [p.clone() for p in target.parameters()]
    ema_update(target, online, tau=0.9)
    for old, new, theta in zip(before, target.parameters(), online.parameters(), strict=True):
        torch.testing.assert_close(new, 0.9 * old + 0.1 * theta)
    for t, o in zip(target.buffers(), online.buffers(), strict=True):
        assert torch.equal(t, o)


def test_ema_rejects_bad_tau_and_mismatched_networks() -> None:
    target, online = _pair()
    with pytest.raises(ValueError, match="tau must be in"):
        ema_update(target, online, tau=1.5)
    with pytest.raises(ValueError, match="different architectures"):
        ema_update(nn.Linear(4, 8), online, tau=0.5)


def test_cosine_tau_goes_from_base_to_one_monotonically() -> None:
    values = [cosine_tau(k, 100, 0.99) for k in range(101)]
    assert values[0] == pytest.approx(0.99)
    assert values[-1] == pytest.approx(1.0)
    assert values[50] == pytest.approx(0.995)
    assert all(a <= b for a, b in itertools.pairwise(values))
    assert cosine_tau(150, 100, 0.99) == pytest.approx(1.0)


def test_cosine_tau_validates_arguments() -> None:
    with pytest.raises(ValueError, match="total_steps"):
        cosine_tau(0, 0, 0.99)
    with pytest.raises(ValueError, match="step must be"):
        cosine_tau(-1, 10, 0.99)
