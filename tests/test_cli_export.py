"""The exports on the command line: estimate/lift --bvh --csv --html, camera space, poselift view."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from poselift.camera_space import camera_to_view_axes
from poselift.cli import main
from poselift.datasets.bvh import read_bvh
from poselift.skeleton import H36M17

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "astronaut.png"


def bvh_positions(path: Path) -> np.ndarray:
    """(frames, 17, 3) H36M-17 joints of a BVH file, by poselift's reader."""
    motion = read_bvh(path)
    return motion.positions[:, [motion.names.index(n) for n in H36M17.joints]]


@pytest.fixture(scope="module")
def estimated(tmp_path_factory):
    """``estimate`` of the bundled photo with every export and a 60-degree field of view."""
    out = tmp_path_factory.mktemp("estimate")
    status = main(["estimate", str(EXAMPLE), "--out", str(out), "--bvh", "--csv", "--html", "--fov", "60", "--quiet"])
    return status, out


def test_estimate_writes_every_export_beside_the_json(estimated):
    status, out = estimated
    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "astronaut.csv", "astronaut.html", "astronaut.json", "astronaut.png", "astronaut_person1.bvh"]


def test_estimate_places_people_in_camera_space(estimated):
    _, out = estimated
    document = json.loads((out / "astronaut.json").read_text())
    assert document["camera"]["source"] == "fov"
    assert document["camera"]["focal_px"] == pytest.approx(256 / np.tan(np.radians(30)), abs=0.01)
    person = document["people"][0]
    root, joints = np.array(person["root_camera_mm"]), np.array(person["joints_camera_mm"])
    assert 300 < root[2] < 10000  # in front of the camera, metres away
    np.testing.assert_allclose(joints - root, np.array(person["joints_3d_mm"]) * [1, -1, -1], atol=0.11)
    focal, centre = document["camera"]["focal_px"], np.array(document["camera"]["principal_px"])
    confident = np.array(person["confidence"]) > 0.5

    def reprojection_px(points_camera):
        seen = focal * points_camera[:, :2] / points_camera[:, 2:] + centre
        return np.median(np.linalg.norm(seen - np.array(person["joints_2d"]), axis=-1)[confident])

    # the placed joints fall near the 2D ones (measured 22 px median: the lift's own misfit on this
    # 512-px photo); the same pose with the camera's y axis taken the wrong way falls far off
    assert reprojection_px(joints) < 35
    assert reprojection_px(root + (joints - root) * [1, -1, 1]) > 3 * reprojection_px(joints)


def test_the_bvh_of_a_photo_holds_the_persons_pose_at_its_place(estimated):
    _, out = estimated
    person = json.loads((out / "astronaut.json").read_text())["people"][0]
    back = bvh_positions(out / "astronaut_person1.bvh")[0]
    np.testing.assert_allclose(back[0], camera_to_view_axes(np.array(person["root_camera_mm"])), atol=1e-3)
    pose = np.array(person["joints_3d_mm"])
    for child, parent in H36M17.bones:  # each bone points where the JSON's does (lengths: the rest pose's)
        a, b = pose[child] - pose[parent], back[child] - back[parent]
        assert a @ b / np.linalg.norm(a) / np.linalg.norm(b) > 1 - 1e-6


def test_the_csv_of_a_photo_matches_its_json(estimated):
    _, out = estimated
    person = json.loads((out / "astronaut.json").read_text())["people"][0]
    rows = list(csv.DictReader((out / "astronaut.csv").open()))
    assert len(rows) == 17 and rows[0]["frame"] == str(EXAMPLE)
    np.testing.assert_allclose([[float(r["x_px"]), float(r["y_px"])] for r in rows], person["joints_2d"], atol=0.01)
    np.testing.assert_allclose([[float(r[f"camera_{k}_mm"]) for k in "xyz"] for r in rows], person["joints_camera_mm"],
                               atol=0.06)


def test_the_page_of_a_photo_embeds_it(estimated):
    _, out = estimated
    page = (out / "astronaut.html").read_text()
    assert "data:image/jpeg;base64," in page and "astronaut.png" in page


def test_a_photo_with_nobody_gets_no_bvh_and_the_command_says_why(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (320, 240), (200, 200, 200)).save(blank)
    assert main(["estimate", str(blank), "--out", str(tmp_path / "out"), "--bvh", "--html", "--quiet"]) == 1
    assert "nobody found; no BVH written" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["blank.html", "blank.json", "blank.png"]
    assert "Nobody was found" in (tmp_path / "out" / "blank.html").read_text()


def test_a_rerun_with_fewer_people_leaves_no_stale_bvh(tmp_path, estimated):
    _, out = estimated
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "astronaut_person2.bvh").write_text("from an earlier run")
    (folder / "astronaut_personal.bvh").write_text("not ours")
    assert main(["estimate", str(EXAMPLE), "--out", str(folder), "--bvh", "--quiet"]) == 0
    assert sorted(p.name for p in folder.glob("*.bvh")) == ["astronaut_person1.bvh", "astronaut_personal.bvh"]


def test_a_focal_length_and_a_field_of_view_cannot_both_be_given(capsys):
    with pytest.raises(SystemExit) as info:
        main(["estimate", str(EXAMPLE), "--focal-px", "500", "--fov", "60"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.fixture(scope="module")
def walking(data_dir):
    """S9 'Walking' every 50th of its first 400 frames: the camera, the 3D truth (camera axes), the 2D."""
    from poselift.datasets import h36m

    camera = h36m.load_cameras(data_dir)["S9"][0]
    world = h36m.load_poses_3d("S9", data_dir)["Walking"][:400:50].astype(float)
    return camera, camera.world_to_camera(world), camera.project(world)


@pytest.mark.parametrize("lifter", ["combined", "learned"])
def test_lift_with_a_camera_writes_placed_poses_in_every_format(walking, tmp_path, lifter):
    camera, truth, points = walking
    source = tmp_path / "walk.npy"
    np.save(source, points)
    files = {kind: tmp_path / f"walk.{kind}" for kind in ("json", "bvh", "csv", "html")}
    assert main(["lift", str(source), "--format", "h36m", "--lifter", lifter, "--focal-px", str(camera.focal.mean()),
                 "--principal-px", *map(str, camera.principal), "--out", str(files["json"]), "--bvh",
                 str(files["bvh"]), "--csv", str(files["csv"]), "--html", str(files["html"]), "--quiet"]) == 0
    document = json.loads(files["json"].read_text())
    assert document["perspective_correction"]  # the learned lifter's answer turned from the ray's frame too
    roots = np.array([pose["root_camera_mm"] for pose in document["poses"]])
    depth_error = np.abs(roots[:, 2] - truth[:, 0, 2]) / truth[:, 0, 2]
    assert depth_error.mean() < 0.1, depth_error
    back = bvh_positions(files["bvh"])
    assert len(back) == len(points)
    np.testing.assert_allclose(back[:, 0], camera_to_view_axes(roots), atol=1e-3)
    assert len(list(csv.DictReader(files["csv"].open()))) == 17 * len(points)
    assert "frame" in files["html"].read_text()


def test_lift_refuses_an_export_it_cannot_write_before_any_work(walking, tmp_path, capsys):
    _, _, points = walking
    source = tmp_path / "walk.npy"
    np.save(source, points)
    out = tmp_path / "walk.json"
    assert main(["lift", str(source), "--format", "h36m", "--out", str(out),
                 "--bvh", str(tmp_path / "missing" / "walk.bvh")]) == 1
    assert "output folder does not exist" in capsys.readouterr().err
    assert main(["lift", str(source), "--format", "h36m", "--out", str(out), "--csv", str(out)]) == 1
    assert "must name different files" in capsys.readouterr().err
    assert not out.exists()


def test_view_turns_a_result_into_a_page(estimated, tmp_path, capsys):
    _, out = estimated
    page = tmp_path / "page.html"
    assert main(["view", str(out / "astronaut.json"), "--out", str(page)]) == 0
    assert "wrote" in capsys.readouterr().out and page.stat().st_size > 10_000


@pytest.mark.parametrize("content, message", [
    ('{"format": "poselift.evaluation", "version": 1}', "not a poselift result"),
    ("\x80\x04\x95 pickle", "not a JSON document"),
    ('{"format": "poselift.lift", "version": 2, "joint_names": [], "poses": []}', "not Human3.6M-17"),
])
def test_view_refuses_what_is_not_a_result(tmp_path, capsys, content, message):
    path = tmp_path / "thing.json"
    path.write_text(content)
    assert main(["view", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("poselift: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "thing.html").exists()


def test_view_will_not_replace_the_result(estimated, capsys):
    _, out = estimated
    result = out / "astronaut.json"
    before = result.read_bytes()
    assert main(["view", str(result), "--out", str(result)]) == 1
    assert "would replace the result" in capsys.readouterr().err
    assert result.read_bytes() == before
