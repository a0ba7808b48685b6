"""Belief maps (paper 5.2, 5.4, 5.5): sub-pixel argmax, projected Gaussian maps, fusion."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poselift.beliefs import GAUSSIAN_BIAS, argmax_subpixel, fuse, render_gaussians


@settings(max_examples=40, deadline=None)
@given(x=st.floats(4.0, 59.0), y=st.floats(4.0, 59.0))
def test_argmax_of_a_rendered_gaussian_is_its_centre_within_the_documented_bias(x, y):
    maps = render_gaussians(np.array([[x, y]]), 64, sigma=1.5)
    position, value = argmax_subpixel(maps)
    assert np.abs(position[0] - [x, y]).max() <= GAUSSIAN_BIAS
    assert 0.75 < value[0] <= 1.0


def test_argmax_works_per_joint_and_over_a_batch():
    points = np.array([[[10.0, 20.0], [50.0, 5.0], [30.3, 40.7]], [[1.0, 1.0], [62.0, 62.0], [32.0, 32.0]]])
    maps = render_gaussians(points, 64)
    assert maps.shape == (2, 64, 64, 3)
    position, _ = argmax_subpixel(maps)
    assert position.shape == (2, 3, 2)
    assert np.abs(position[0] - points[0]).max() <= GAUSSIAN_BIAS
    # at the border the window is cut on one side: within half a cell
    assert np.abs(position[1] - points[1]).max() <= 0.5


def test_a_map_of_zeros_gives_its_first_cell_and_zero_belief():
    position, value = argmax_subpixel(np.zeros((8, 8, 1)))
    assert np.array_equal(position[0], [0.0, 0.0]) and value[0] == 0.0


def test_rendered_maps_are_separable_gaussians_with_unit_peak():
    maps = render_gaussians(np.array([[3.0, 5.0]]), 16, sigma=2.0)[..., 0]
    assert maps[5, 3] == pytest.approx(1.0)
    assert maps[5, 5] == pytest.approx(np.exp(-0.5))  # two cells = one sigma to the right
    assert maps[7, 3] == pytest.approx(np.exp(-0.5))


def test_fusion_is_the_convex_combination_of_eq_7():
    b, g = np.full((4, 4, 2), 0.2), np.full((4, 4, 2), 1.0)
    assert np.allclose(fuse(b, g, 0.75), 0.75 * 0.2 + 0.25)
    assert np.array_equal(fuse(b, g, 1.0), b) and np.array_equal(fuse(b, g, 0.0), g)


def test_fusion_moves_the_argmax_to_the_projection_only_where_the_belief_is_weak():
    strong = render_gaussians(np.array([[10.0, 10.0]]), 32)
    weak = 0.3 * render_gaussians(np.array([[10.0, 10.0]]), 32)
    projected = render_gaussians(np.array([[20.0, 20.0]]), 32)
    assert np.allclose(argmax_subpixel(fuse(strong, projected, 0.8))[0][0], [10, 10], atol=0.1)
    assert np.allclose(argmax_subpixel(fuse(weak, projected, 0.5))[0][0], [20, 20], atol=0.1)


@pytest.mark.parametrize("call, message", [
    (lambda: argmax_subpixel(np.zeros((4, 4))), "shape"),
    (lambda: render_gaussians(np.zeros((3, 3)), 8), "shape"),
    (lambda: render_gaussians(np.zeros((3, 2)), 8, sigma=0.0), "sigma"),
    (lambda: fuse(np.zeros(3), np.zeros(3), 1.5), r"\[0, 1\]"),
])
def test_bad_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
