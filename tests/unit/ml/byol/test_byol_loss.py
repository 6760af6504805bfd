import pytest
import torch

from labellight.ml.backbones import build_backbone
from labellight.ml.byol.loss import byol_loss
from labellight.ml.byol.model import BYOL


def test_loss_is_zero_for_identical_directions() -> None:
    p = torch.randn(8, 16)
    assert byol_loss(p, p.clone()).item() == pytest.approx(0.0, abs=1e-6)
    assert byol_loss(p, 3.0 * p).item() == pytest.approx(0.0, abs=1e-6)


def test_loss_is_four_for_opposite_and_two_for_orthogonal() -> None:
    p = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert byol_loss(p, -p).item() == pytest.approx(4.0)
    assert byol_loss(p, torch.tensor([[0.0, 1.0], [5.0, 0.0]])).item() == pytest.approx(2.0)


def test_loss_does_not_backpropagate_into_target() -> None:
    p = torch.randn(4, 8, requires_grad=True)
    z = torch.randn(4, 8, requires_grad=True)
    grad_p, grad_z = torch.autograd.grad(byol_loss(p, z), [p, z], allow_unused=True)
    assert grad_p is not None
    assert grad_p.abs().sum() > 0
    assert grad_z is None


def test_loss_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="must both be"):
        byol_loss(torch.randn(4, 8), torch.randn(4, 7))


def _tiny_byol() -> BYOL:
    torch.manual_seed(0)
    backbone, dim = build_backbone("resnet18", small_images=True)
    return BYOL(backbone, dim, proj_hidden=32, proj_dim=16, pred_hidden=32)


@pytest.mark.slow
def test_byol_forward_is_symmetric_in_view_order() -> None:
    model = _tiny_byol()
    v1, v2 = torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        forward, backward = model(v1, v2), model(v2, v1)
    assert forward.item() == pytest.approx(backward.item(), rel=1e-4)
    assert forward.item() > 0.0


@pytest.mark.slow
def test_byol_target_is_frozen_copy_and_gets_no_gradient() -> None:
    model = _tiny_byol()
    assert all(not p.requires_grad for p in model.target_encoder.parameters())
    assert all(not p.requires_grad for p in model.target_projector.parameters())
    for online, target in zip(model.online_encoder.parameters(), model.target_encoder.parameters(), strict=True):
        assert torch.equal(online, target)
        assert online.data_ptr() != target.data_ptr()
    model(torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)).backward()
    assert any(p.grad is not None for p in model.predictor.parameters())
    assert all(p.grad is None for p in model.target_encoder.parameters())


@pytest.mark.slow
def test_byol_runs_its_networks_channels_last_without_changing_the_loss() -> None:
    model = _tiny_byol()
    layouts: list[bool] = []
    model.online_encoder.register_forward_pre_hook(
        lambda _module, args: layouts.append(args[0].is_contiguous(memory_format=torch.channels_last))
    )
    v1, v2 = torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        loss = model(v1, v2)
        # The same computation on the plain (contiguous) layout.
        views = torch.cat([v1, v2])
        p = model.predictor(model.online_projector(model.online_encoder(views)))
        z = model.target_projector(model.target_encoder(views))
        expected = byol_loss(p[:4], z[4:]) + byol_loss(p[4:], z[:4])
    assert layouts == [True, False]
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)
