import pytest
import torch

from labellight.ml import batched_transforms as transforms
from labellight.ml.augment import ByolAugment, to_model_input

DEVICES = [
    pytest.param(torch.device("cpu"), id="cpu"),
    pytest.param(
        torch.device("cuda"),
        id="cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
    ),
]


def _images(batch: int = 6, size: int = 20) -> torch.Tensor:
    return torch.randint(0, 256, (batch, size, size, 3), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)


@pytest.mark.parametrize("device", DEVICES)
def test_two_views_have_the_right_shape_and_differ(device: torch.device) -> None:
    images = _images().to(device)
    v1, v2 = ByolAugment(16)(images)
    assert v1.shape == v2.shape == (6, 3, 16, 16)
    assert v1.dtype == v2.dtype == torch.float32
    assert v1.device.type == device.type
    assert not torch.allclose(v1, v2)
    assert torch.isfinite(v1).all()
    assert torch.isfinite(v2).all()


def test_float_input_is_accepted_and_randomness_is_per_sample() -> None:
    one = torch.rand(1, 3, 24, 24)
    v1, _ = ByolAugment(16)(one.repeat(4, 1, 1, 1))
    # The same image repeated gets a different crop/colour per sample.
    assert not torch.allclose(v1[0], v1[1])


def test_same_seed_gives_same_views_and_views_change_between_calls() -> None:
    images = _images()
    a, b = ByolAugment(16, seed=3), ByolAugment(16, seed=3)
    first_a, first_b = a(images), b(images)
    assert torch.equal(first_a[0], first_b[0])
    assert torch.equal(first_a[1], first_b[1])
    assert not torch.equal(a(images)[0], first_a[0])


@pytest.mark.parametrize("device", DEVICES)
def test_device_does_not_change_the_random_draws(device: torch.device) -> None:
    images = _images()
    cpu_views = ByolAugment(16, seed=5)(images)
    device_views = ByolAugment(16, seed=5)(images.to(device))
    torch.testing.assert_close(device_views[0].cpu(), cpu_views[0], atol=1e-3, rtol=1e-3)


def test_to_model_input_is_deterministic_and_normalised() -> None:
    images = _images(4, 32)
    x = to_model_input(images, 16)
    assert x.shape == (4, 3, 16, 16)
    assert torch.equal(x, to_model_input(images, 16))
    white = to_model_input(torch.full((1, 8, 8, 3), 255, dtype=torch.uint8), 8)
    torch.testing.assert_close(
        white[0, :, 0, 0], (1 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    )


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="uint8 images must be"):
        to_model_input(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), 8)  # uint8 must be channels-last
    with pytest.raises(ValueError, match="4 dims"):
        ByolAugment(16)(torch.zeros(3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="crop_scale"):
        ByolAugment(16, crop_scale=(0.5, 0.2))


def test_crop_boxes_stay_inside_the_image_with_requested_area() -> None:
    boxes = transforms.crop_boxes(500, 30, 40, (0.2, 1.0), (3 / 4, 4 / 3), torch.Generator().manual_seed(0))
    x0, y0, x1, y1 = boxes.unbind(1)
    assert (x0 >= 0).all()
    assert (y0 >= 0).all()
    assert (x1 <= 40 + 1e-4).all()
    assert (y1 <= 30 + 1e-4).all()
    area = (x1 - x0) * (y1 - y0) / (30 * 40)
    assert (area >= 0.2 - 1e-4).all()
    assert (area <= 1.0 + 1e-4).all()


def test_solarize_and_grayscale_do_what_they_say() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.tensor([0.2, 0.7]).view(1, 1, 1, 2).expand(2, 3, 1, 2).contiguous()
    solarized = transforms.random_solarize(x, 1.0, g)
    torch.testing.assert_close(solarized[..., 1], torch.full((2, 3, 1), 0.3))
    assert torch.equal(transforms.random_solarize(x, 0.0, g), x)
    gray = transforms.random_grayscale(torch.rand(2, 3, 4, 4), 1.0, g)
    assert torch.equal(gray[:, 0], gray[:, 1])
    assert torch.equal(gray[:, 1], gray[:, 2])


def test_blur_preserves_constant_images_and_smooths_noise() -> None:
    g = torch.Generator().manual_seed(0)
    constant = torch.full((2, 3, 12, 12), 0.4)
    torch.testing.assert_close(transforms.gaussian_blur(constant, 1.0, g, sigma=(1.0, 2.0)), constant)
    noise = torch.rand(2, 3, 40, 40, generator=g)
    assert transforms.gaussian_blur(noise, 1.0, g, sigma=(1.5, 2.0)).std() < noise.std()


def test_pipelines_use_the_paper_parameters() -> None:
    from labellight.ml.augment import VIEW_1, VIEW_2

    for view in (VIEW_1, VIEW_2):
        assert (view.flip_p, view.jitter, view.jitter_p, view.grayscale_p) == (0.5, (0.4, 0.4, 0.2, 0.1), 0.8, 0.2)
    assert (VIEW_1.blur_p, VIEW_1.solarize_p) == (1.0, 0.0)
    assert (VIEW_2.blur_p, VIEW_2.solarize_p) == (0.1, 0.2)
    assert ByolAugment(32).crop_scale == (0.2, 1.0)
    assert ByolAugment(96).crop_scale == (0.08, 1.0)
    assert ByolAugment(32).views == (VIEW_1, VIEW_2)
    assert [transforms.blur_kernel_size(s) for s in (16, 32, 96, 224)] == [3, 3, 9, 23]


def test_each_transform_fires_independently_per_sample_with_its_probability() -> None:
    g = torch.Generator().manual_seed(0)
    n = 4000
    ramp = torch.linspace(0.05, 0.95, 8).view(1, 1, 1, 8)
    x = torch.cat([ramp, ramp.roll(1, -1), ramp.roll(2, -1)], dim=1).expand(n, 3, 8, 8).contiguous()

    def fraction(changed: torch.Tensor) -> float:
        return changed.float().mean().item()

    def differs(y: torch.Tensor) -> torch.Tensor:
        return (y - x).abs().amax(dim=(1, 2, 3)) > 1e-4

    assert fraction(differs(transforms.random_horizontal_flip(x, 0.5, g))) == pytest.approx(0.5, abs=0.03)
    assert fraction(differs(transforms.random_grayscale(x, 0.2, g))) == pytest.approx(0.2, abs=0.03)
    assert fraction(differs(transforms.random_solarize(x, 0.2, g))) == pytest.approx(0.2, abs=0.03)
    assert fraction(differs(transforms.gaussian_blur(x, 0.1, g, sigma=(1.0, 2.0)))) == pytest.approx(0.1, abs=0.03)
    jittered = transforms.color_jitter(x, 0.4, 0.4, 0.2, 0.1, p=0.8, generator=g)
    assert fraction(differs(jittered)) == pytest.approx(0.8, abs=0.03)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
# torch says that its sync debug mode is a prototype; it still catches the syncs this test is about.
@pytest.mark.filterwarnings("ignore:Synchronization debug mode is a prototype:UserWarning")
def test_augmenting_on_the_gpu_never_waits_for_it() -> None:
    images = _images().cuda()
    augment = ByolAugment(16)
    augment(images)  # first call: allocations and kernel loading
    torch.cuda.synchronize()
    try:
        torch.cuda.set_sync_debug_mode("error")
        v1, v2 = augment(images)
        x = to_model_input(images, 16)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert v1.is_cuda
    assert v2.is_cuda
    assert x.is_cuda
