import numpy as np
import pytest

from poselift.skeleton import BLAZEPOSE33, H36M17, JOINT_SETS, LSP14, SH16, JointSet, convert, get_joint_set


@pytest.mark.parametrize("joint_set", list(JOINT_SETS.values()), ids=list(JOINT_SETS))
def test_mirror_index_is_an_involution_that_swaps_sides(joint_set):
    mirror = joint_set.mirror_index
    np.testing.assert_array_equal(mirror[mirror], np.arange(len(joint_set)))
    for j, m in enumerate(mirror):
        a, b = joint_set.joints[j], joint_set.joints[m]
        if a.startswith("left_"):
            assert b == "right_" + a[5:]
        elif not a.startswith("right_"):
            assert a == b


@pytest.mark.parametrize("joint_set", list(JOINT_SETS.values()), ids=list(JOINT_SETS))
def test_drawing_tree_has_one_root_and_no_cycles(joint_set):
    assert list(joint_set.parents).count(-1) == 1
    for j in range(len(joint_set)):
        seen, k = set(), j
        while k != -1:
            assert k not in seen
            seen.add(k)
            k = joint_set.parents[k]


def test_h36m_order_matches_the_data_readme():
    # shared/data/README.md: 1-3 are the RIGHT leg, 11-13 the LEFT arm
    assert H36M17.joints[1:4] == ("right_hip", "right_knee", "right_ankle")
    assert H36M17.joints[11:14] == ("left_shoulder", "left_elbow", "left_wrist")
    assert H36M17.parents == (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)


def test_lsp_to_h36m_derives_pelvis_and_thorax_and_reports_missing(rng):
    points = rng.normal(size=(5, 14, 2))
    result = convert(points, LSP14, H36M17)
    assert result.points.shape == (5, 17, 2)
    assert set(result.missing) == {"spine", "neck_nose"}
    assert "pelvis" in result.approximate and "thorax" in result.approximate
    pelvis = (points[:, LSP14.index("left_hip")] + points[:, LSP14.index("right_hip")]) / 2
    np.testing.assert_allclose(result.points[:, H36M17.index("pelvis")], pelvis)
    np.testing.assert_allclose(result.points[:, H36M17.index("right_knee")], points[:, LSP14.index("right_knee")])
    assert np.all(np.isnan(result.points[:, H36M17.index("spine")]))
    assert np.all(result.weights[:, H36M17.index("spine")] == 0)


def test_blazepose_lacks_head_top_and_spine_in_h36m(rng):
    result = convert(rng.normal(size=(33, 3)), BLAZEPOSE33, H36M17)
    assert set(result.missing) == {"spine", "head_top"}
    assert "neck_nose" in result.approximate


def test_derived_joint_takes_the_smallest_input_weight(rng):
    weights = np.ones(14)
    weights[LSP14.index("left_hip")] = 0.25
    result = convert(rng.normal(size=(14, 2)), LSP14, H36M17, weights)
    assert result.weights[H36M17.index("pelvis")] == 0.25
    assert result.weights[H36M17.index("left_hip")] == 0.25


def test_h36m_to_sh_and_back_keeps_every_shared_joint(rng):
    points = rng.normal(size=(17, 2))
    sh = convert(points, H36M17, SH16)
    assert sh.missing == ()
    back = convert(sh.points, SH16, H36M17)
    assert back.missing == ("neck_nose",)
    for name in ("pelvis", "left_wrist", "right_ankle", "spine", "head_top"):
        np.testing.assert_allclose(back.points[H36M17.index(name)], points[H36M17.index(name)])


def test_unknown_joint_set_raises_value_error():
    with pytest.raises(ValueError, match="unknown joint set 'coco99'"):
        get_joint_set("coco99")


def test_wrong_point_shape_raises_value_error():
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 14, D\) for lsp14"):
        convert(np.zeros((17, 2)), "lsp14", "h36m17")


def test_bad_joint_set_declarations_raise():
    with pytest.raises(ValueError, match="no partner"):
        JointSet("bad", ("pelvis", "left_hip"), (-1, 0))
    with pytest.raises(ValueError, match="parents"):
        JointSet("bad", ("a", "b"), (-1,))
    with pytest.raises(ValueError, match="no joint 'nose'"):
        H36M17.index("nose")
