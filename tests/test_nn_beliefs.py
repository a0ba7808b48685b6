"""Projected-belief (eq. 6, backward eq. 9) and fusion (eq. 7) layers in PyTorch."""

import numpy as np
import pytest
import torch

from poselift.beliefs import render_gaussians as render_numpy
from poselift.nn import Fusion, ProjectedBeliefs


def test_projected_beliefs_equal_the_numpy_maps():
    positions = np.array([[[3.2, 7.9], [10.0, 1.5]], [[0.0, 0.0], [15.7, 15.1]]])
    maps = ProjectedBeliefs(16, 1.5)(torch.tensor(positions))
    assert maps.shape == (2, 2, 16, 16)
    assert np.allclose(maps.numpy(), np.moveaxis(render_numpy(positions, 16, 1.5), -1, 1))


def test_eq_9_backward_with_a_small_step_passes_gradcheck():
    positions = torch.tensor([[[4.3, 6.1], [9.7, 2.2]]], dtype=torch.float64, requires_grad=True)
    layer = ProjectedBeliefs(12, 1.5, step=1e-4)
    assert torch.autograd.gradcheck(layer, (positions,), eps=1e-6, atol=1e-6)


def test_eq_9_backward_with_the_papers_step_is_the_difference_of_gaussians():
    positions = torch.tensor([[[5.0, 6.0]]], dtype=torch.float64, requires_grad=True)
    layer = ProjectedBeliefs(12, 1.5, step=1.0)
    upstream = torch.rand(1, 1, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    (layer(positions) * upstream).sum().backward()
    expected = []
    for axis in (0, 1):
        shift = np.zeros(2)
        shift[axis] = 1.0
        ahead = render_numpy(positions.detach().numpy()[0] + shift, 12, 1.5)[..., 0]
        behind = render_numpy(positions.detach().numpy()[0] - shift, 12, 1.5)[..., 0]
        expected.append(((ahead - behind) / 2.0 * upstream.numpy()[0, 0]).sum())
    assert np.allclose(positions.grad.numpy()[0, 0], expected)
    # and it points the same way as the exact derivative
    exact = positions.detach().clone().requires_grad_(True)
    (ProjectedBeliefs(12, 1.5, step=None)(exact) * upstream).sum().backward()
    assert np.all(np.sign(exact.grad.numpy()) == np.sign(positions.grad.numpy()))


def test_fusion_weight_stays_in_the_unit_interval_and_learns():
    fusion = Fusion(initial=0.8)
    assert float(fusion.weight.detach()) == pytest.approx(0.8)
    beliefs, projected = torch.zeros(1, 2, 4, 4), torch.ones(1, 2, 4, 4)
    assert torch.allclose(fusion(beliefs, projected), torch.full((1, 2, 4, 4), 0.2))
    optimiser = torch.optim.SGD(fusion.parameters(), lr=50.0)
    for _ in range(20):  # push the fused map towards the projected one: w must fall, never below 0
        optimiser.zero_grad()
        ((fusion(beliefs, projected) - 1.0) ** 2).mean().backward()
        optimiser.step()
        assert 0.0 <= float(fusion.weight.detach()) <= 1.0
    assert float(fusion.weight.detach()) < 0.2


@pytest.mark.parametrize("make, message", [
    (lambda: Fusion(initial=1.0), "strictly between"),
    (lambda: ProjectedBeliefs(0, 1.0), "size"),
    (lambda: ProjectedBeliefs(8, 1.0)(torch.zeros(2, 3)), "shape"),
    (lambda: Fusion()(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 4, 4)), "differ"),
])
def test_bad_arguments_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_belief_argmax_finds_the_peaks_and_its_update_moves_them_the_right_way():
    from poselift.nn import BeliefArgmax
    from poselift.nn.beliefs import render_gaussians as render_torch

    target = torch.tensor([[[9.0, 5.0]]], dtype=torch.float64)
    maps = render_torch(torch.tensor([[[5.0, 5.0]]], dtype=torch.float64), 16, 1.5).requires_grad_(True)
    layer = BeliefArgmax(sigma=1.5)
    position = layer(maps)
    assert torch.allclose(position, torch.tensor([[[5.0, 5.0]]], dtype=torch.float64), atol=0.07)
    ((position - target) ** 2).sum().backward()  # the loss wants the peak to move right (+x)
    step = -maps.grad[0, 0]
    assert step[5, 5] < 0  # the old peak is lowered
    assert step[5, 7] > 0 and step[5, 3] == 0  # cells to the right are raised, none to the left
    moved = layer((maps.detach() + 2.0 * step)[None][0])
    assert moved[0, 0, 0] > 5.5  # one descent step moves the peak towards the target


def test_belief_argmax_forward_only_mode_has_no_gradient():
    from poselift.nn import BeliefArgmax

    maps = torch.rand(2, 3, 8, 8, requires_grad=True)
    positions = BeliefArgmax(1.5, backward="none")(maps)
    assert positions.shape == (2, 3, 2) and not positions.requires_grad
    with pytest.raises(ValueError, match="backward"):
        BeliefArgmax(1.5, backward="sometimes")
