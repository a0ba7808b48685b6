"""Random documents, arrays, shapes and dtypes thrown at the keypoint readers and ``poselift lift``:
exit status 0 or 1 only, never a traceback, never a non-finite number and never a partial output."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from poselift.cli import main

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

numbers = st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True),
                    st.floats(-2000, 2000), st.just(10**400))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=5), inner, max_size=4)),
    max_leaves=30)
triplet_lists = st.one_of(st.lists(st.one_of(numbers, st.floats(0, 1)), min_size=51, max_size=51),
                          st.lists(st.floats(-1000, 1000), min_size=75, max_size=75), json_values)
coco_documents = st.one_of(
    json_values,
    st.lists(st.fixed_dictionaries({"id": json_values, "keypoints": triplet_lists}), max_size=4),
    st.fixed_dictionaries({"annotations": st.lists(st.fixed_dictionaries({"keypoints": triplet_lists}), max_size=4)}))
openpose_documents = st.one_of(
    json_values,
    st.fixed_dictionaries({"people": st.one_of(json_values, st.lists(
        st.fixed_dictionaries({"pose_keypoints_2d": triplet_lists}), max_size=3))}))
arrays = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32, np.int16, np.uint8, np.bool_, np.complex64]),
    shape=st.one_of(st.just((3, 17, 2)), st.just((2, 17, 3)), st.just((17, 2)),
                    hnp.array_shapes(min_dims=0, max_dims=4, max_side=18)),
    elements=None)


def _check_outcome(status: int, out: Path, folder: Path) -> None:
    """Exit 0 with a complete, strictly finite JSON, or 1 with no output; no temporary file left."""
    assert status in (0, 1)
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    if status == 1:
        assert not out.exists()
        return

    def refuse(name):
        raise AssertionError(f"{name} in the output")

    document = json.loads(out.read_text(), parse_constant=refuse)
    assert document["format"] == "poselift.lift"
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float):
            assert math.isfinite(item)
    lifted = [pose for pose in document["poses"] if pose["lifted"]]
    assert lifted and all(np.shape(pose["joints_3d_mm"]) == (17, 3) for pose in lifted)


def _run(tmp_path_factory, name: str, write, fmt: str) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    path, out = folder / name, folder / "out.json"
    write(path)
    status = main(["lift", str(path), "--format", fmt, "--out", str(out), "--quiet"])
    _check_outcome(status, out, folder)


@FUZZ
@given(document=coco_documents)
def test_random_coco_documents(tmp_path_factory, document):
    _run(tmp_path_factory, "k.json", lambda p: p.write_text(json.dumps(document)), "coco")


@FUZZ
@given(document=openpose_documents)
def test_random_openpose_documents(tmp_path_factory, document):
    _run(tmp_path_factory, "k.json", lambda p: p.write_text(json.dumps(document)), "openpose")


@FUZZ
@given(array=arrays, fmt=st.sampled_from(["h36m", "npy"]))
def test_random_npy_arrays(tmp_path_factory, array, fmt):
    _run(tmp_path_factory, "k.npy", lambda p: np.save(p, array), fmt)


@FUZZ
@given(document=st.one_of(json_values, st.lists(st.lists(st.lists(numbers, min_size=2, max_size=3),
                                                         min_size=17, max_size=17), max_size=3)))
def test_random_json_arrays(tmp_path_factory, document):
    _run(tmp_path_factory, "k.json", lambda p: p.write_text(json.dumps(document)), "h36m")


@FUZZ
@given(data=st.binary(max_size=300), fmt=st.sampled_from(["coco", "openpose", "h36m"]),
       name=st.sampled_from(["k.json", "k.npy"]))
def test_random_bytes(tmp_path_factory, data, fmt, name):
    _run(tmp_path_factory, name, lambda p: p.write_bytes(data), fmt)
