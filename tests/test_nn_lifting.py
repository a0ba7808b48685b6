import numpy as np
import pytest
import torch

from helpers import random_yaws, s1_views
from poselift.lifting import Lifter
from poselift.nn import LiftingLayer


@pytest.fixture(scope="module")
def points(s1_poses):
    """(64, 17, 2) pixel joints: the first 64 S1 poses at random yaws, weak perspective."""
    return s1_views(s1_poses[:64], random_yaws(64, seed=3))


def test_torch_layer_equals_numpy_lifter(prior, points):
    weights = np.ones(17)
    weights[10] = 0.0  # a joint the detector lacks
    expected = Lifter(prior).lift(points, weights)
    got = LiftingLayer(prior, weights=weights)(torch.tensor(points))
    np.testing.assert_array_equal(got.component.numpy(), expected.component)
    np.testing.assert_allclose(got.pose_3d.detach().numpy(), expected.pose_3d, atol=1e-5)
    np.testing.assert_allclose(got.projected_2d.detach().numpy(), expected.projected_2d, atol=1e-5)
    np.testing.assert_allclose(got.angle.numpy(), expected.angle, atol=1e-9)


def test_float32_input_gives_float32_output_with_the_float64_answer(prior, points):
    layer = LiftingLayer(prior)
    single = layer(torch.tensor(points, dtype=torch.float32))
    double = layer(torch.tensor(points))
    assert single.pose_3d.dtype == torch.float32
    np.testing.assert_allclose(single.pose_3d.numpy(), double.pose_3d.detach().numpy(), atol=1e-2)


def test_subgradient_backward_agrees_with_finite_differences(prior, points):
    layer = LiftingLayer(prior, angles=24)
    x = torch.tensor(points[:2], requires_grad=True)
    assert torch.autograd.gradcheck(lambda p: layer(p).projected_2d, (x,), eps=1e-6, atol=1e-5)
    assert torch.autograd.gradcheck(lambda p: layer(p).pose_3d, (x,), eps=1e-6, atol=1e-4)


def test_projection_is_translation_equivariant_in_its_gradient(prior, points):
    """Moving every input joint by the same amount moves every projected joint by it:
    the Jacobian maps a uniform shift onto itself."""
    layer = LiftingLayer(prior, angles=24)
    x = torch.tensor(points[:1], requires_grad=True)
    jacobian = torch.autograd.functional.jacobian(lambda p: layer(p).projected_2d, x).reshape(34, 34)
    shift = torch.tensor([1.0, 0.0], dtype=torch.float64).repeat(17)
    np.testing.assert_allclose((jacobian @ shift).numpy(), shift.numpy(), atol=1e-9)


def test_forward_only_mode_has_the_same_forward_and_no_gradient(prior, points):
    x = torch.tensor(points[:8], requires_grad=True)
    full = LiftingLayer(prior, angles=24)(x)
    frozen = LiftingLayer(prior, angles=24, backward="none")(x)
    np.testing.assert_array_equal(full.pose_3d.detach().numpy(), frozen.pose_3d.numpy())
    assert full.pose_3d.requires_grad and not frozen.pose_3d.requires_grad


@pytest.mark.parametrize("kwargs, shape, message", [
    ({"backward": "sideways"}, (2, 17, 2), "backward must be one of"),
    ({"weights": np.ones(3)}, (2, 17, 2), "weights must be"),
    ({}, (2, 16, 2), r"shape \(B, 17, 2\)"),
])
def test_bad_configuration_or_input_raises(prior, kwargs, shape, message):
    with pytest.raises(ValueError, match=message):
        LiftingLayer(prior, angles=8, **kwargs)(torch.zeros(shape))


def test_nan_input_raises(prior, points):
    x = torch.tensor(points[:2])
    x[0, 3, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        LiftingLayer(prior, angles=8)(x)
