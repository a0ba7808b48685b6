"""The multi-stage network (section 5): shapes, lifting modes, and a short training run."""

import numpy as np
import pytest
import torch

from poselift.geometry import PRIOR_FROM_WORLD
from poselift.nn.beliefs import render_gaussians
from poselift.nn.network import LiftingNetwork, stage_losses
from poselift.nn.stages import BeliefStage, CpmFeatures, FirstStage, ImageFeatures

SIZE = 32
LIFTED = np.array([1, 2, 3, 4, 5, 6, 9, 11, 12, 13, 14, 15, 16])  # the 13 joints BlazePose has, in H36M-17


def _maps(points: torch.Tensor) -> torch.Tensor:
    """(B, J, 2) cells -> (B, J + 1, S, S) Gaussians plus the background map."""
    joints = render_gaussians(points, SIZE, 1.5)
    return torch.cat([joints, 1.0 - joints.amax(dim=1, keepdim=True)], dim=1)


@pytest.fixture(scope="module")
def batch(s1_poses):
    """Real S1 poses seen from the side, as 2D maps: targets, and blurred, shifted stage-1 maps."""
    rng = np.random.default_rng(0)
    poses = s1_poses[rng.choice(len(s1_poses), 8, replace=False)] @ PRIOR_FROM_WORLD.T
    points = poses[:, LIFTED, :2] - poses[:, :1, :2]
    points = points / np.abs(points).max() * (SIZE * 0.4) * np.array([1, -1]) + SIZE / 2
    truth = torch.tensor(points, dtype=torch.float32)
    noisy = truth + torch.tensor(rng.normal(0, 1.5, truth.shape), dtype=torch.float32)
    features = torch.tensor(rng.normal(0, 1, (8, 4, SIZE, SIZE)), dtype=torch.float32)
    return features, 0.7 * _maps(noisy), _maps(truth)


def _network(lifting, prior=None, seed=0):
    torch.manual_seed(seed)
    return LiftingNetwork(joints=13, feature_channels=4, stages=3, prior=prior, lift_index=LIFTED,
                          lifting=lifting, map_size=SIZE, width=8, kernel=3, depth=2)


def test_stage_shapes():
    image = torch.rand(2, 3, 64, 64)
    features = ImageFeatures(width=8, stride=8)(image)
    assert features.shape == (2, 8, 8, 8)
    assert ImageFeatures(width=8, stride=4)(image).shape == (2, 8, 16, 16)
    first = FirstStage(8, joints=14, width=16, hidden=32)(features)
    assert first.shape == (2, 15, 8, 8)
    cpm = CpmFeatures(width=8)
    assert cpm(image).shape == (2, 8, 8, 8) and cpm.out_channels == 8
    widths = [m.out_channels for m in CpmFeatures(width=128).layers if isinstance(m, torch.nn.Conv2d)]
    assert widths == [64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 256, 128]  # CPM's trunk
    assert BeliefStage(8, joints=14, width=8, kernel=3, depth=2)(features, first).shape == (2, 15, 8, 8)


def test_the_network_returns_every_stage_and_its_modes_share_the_forward(batch, small_prior):
    features, first, _ = batch
    outputs = {mode: _network(mode, small_prior.prior)(features, first) for mode in ("subgradient", "forward")}
    assert len(outputs["forward"]) == 3 and outputs["forward"][2].shape == (8, 14, SIZE, SIZE)
    for a, b in zip(outputs["subgradient"], outputs["forward"]):
        assert torch.allclose(a, b)
    off = _network("off")(features, first)
    assert not torch.allclose(off[1], outputs["forward"][1])  # the fusion changed what stage 2 saw


@pytest.mark.parametrize("mode", ["subgradient", "forward", "off"])
def test_a_short_training_run_lowers_the_loss_and_keeps_w_in_the_unit_interval(batch, small_prior, mode):
    features, first, target = batch
    network = _network(mode, small_prior.prior)
    optimiser = torch.optim.SGD(network.parameters(), lr=5e-4, momentum=0.9)
    losses = []
    for _ in range(15):
        optimiser.zero_grad()
        loss = stage_losses(network(features, first), target).sum()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0]
    if mode != "off":
        assert all(0.0 < w < 1.0 for w in network.fusion_weights())


def test_masked_maps_carry_no_loss(batch):
    _, first, target = batch
    mask = torch.ones(target.shape[:2])
    mask[:, 0] = 0.0
    changed = [first, first.clone()]
    changed[1][:, 0] += 5.0
    assert torch.allclose(stage_losses([first, changed[0]], target, mask),
                          stage_losses([first, changed[1]], target, mask))


@pytest.mark.parametrize("kwargs, message", [
    ({"lifting": "sometimes"}, "lifting must be"),
    ({"stages": 1}, "at least 2 stages"),
    ({"lifting": "forward", "prior": None}, "needs a prior"),
])
def test_bad_configurations_fail_clearly(kwargs, message):
    settings = {"joints": 13, "feature_channels": 4, "stages": 3, "lift_index": LIFTED, "lifting": "off"}
    with pytest.raises(ValueError, match=message):
        LiftingNetwork(**{**settings, **kwargs})


def test_wrong_map_shapes_fail_clearly():
    network = _network("off")
    with pytest.raises(ValueError, match="stage-1 beliefs"):
        network(torch.zeros(1, 4, SIZE, SIZE), torch.zeros(1, 13, SIZE, SIZE))


def test_an_untrained_residual_stage_passes_its_input_through():
    features, beliefs = torch.rand(2, 4, 8, 8), torch.rand(2, 14, 8, 8)
    stage = BeliefStage(4, joints=13, width=8, kernel=3, depth=2, residual=True)
    assert torch.equal(stage(features, beliefs), beliefs)
    assert not torch.equal(BeliefStage(4, joints=13, width=8, kernel=3, depth=2)(features, beliefs), beliefs)


def test_frozen_maps_pass_every_stage_unchanged(batch, small_prior):
    features, first, _ = batch
    for mode in ("off", "forward"):
        torch.manual_seed(0)
        network = LiftingNetwork(joints=13, feature_channels=4, stages=3, prior=small_prior.prior, lift_index=LIFTED,
                                 lifting=mode, map_size=SIZE, width=8, kernel=3, depth=2, frozen_maps=(0,))
        outputs = network(features, first)
        if mode == "off":
            assert all(torch.equal(o[:, 0], first[:, 0]) for o in outputs)
        else:  # fused with the projection, never re-estimated by a stage
            assert not torch.equal(outputs[1][:, 0], first[:, 0])
            assert torch.equal(outputs[2][:, 0], network._fuse(1, outputs[1])[:, 0])
        assert not torch.equal(outputs[1][:, 1], first[:, 1])
    with pytest.raises(ValueError, match="frozen_maps"):
        LiftingNetwork(joints=13, feature_channels=4, stages=3, lifting="off", map_size=SIZE, frozen_maps=(13,))
