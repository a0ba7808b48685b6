"""``poselift estimate`` and ``poselift evaluate lsp`` from the command line: outputs and bad input."""

import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from helpers import lsp_folder
from poselift.cli import main
from poselift.skeleton import H36M17


@pytest.mark.slow
def test_estimate_writes_a_versioned_json_and_a_png(estimator, photos, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["estimate", str(photos / "astronaut.png"), "--out", str(out), "--quiet"]) == 0
    doc = json.loads((out / "astronaut.json").read_text())
    assert doc["format"] == "poselift.estimate" and doc["version"] == 3
    assert doc["joint_names"] == list(H36M17.joints)
    assert doc["image"]["width"] == 512 and doc["image"]["height"] == 512
    (person,) = doc["people"]
    assert np.array(person["joints_2d"]).shape == (17, 2) and np.array(person["joints_3d_mm"]).shape == (17, 3)
    assert len(person["confidence"]) == 17 and set(person["source"]) <= {"detected", "derived", "model"}
    assert {"scale_px_per_mm", "residual_px2", "box", "blazepose_33"} <= set(person)
    assert doc["settings"]["lifter"] == "learned" and doc["settings"]["guide_weight"] is None
    assert "rounds" not in person
    assert (out / "astronaut.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("lifter", ["prior", "combined"])
def test_estimate_with_another_lifter_records_it_and_its_fit(estimator, photos, tmp_path, lifter):
    out = tmp_path / "out"
    assert main(["estimate", str(photos / "astronaut.png"), "--out", str(out), "--lifter", lifter, "--quiet"]) == 0
    doc = json.loads((out / "astronaut.json").read_text())
    assert doc["settings"]["lifter"] == lifter and (doc["settings"]["guide_weight"] is None) == (lifter == "prior")
    assert (doc["settings"]["lifter_weights"] is None) == (lifter == "prior")
    (person,) = doc["people"]
    assert {"angle_deg", "component"} <= set(person) and "scale_px_per_mm" not in person
    shoulders = np.subtract(*np.array(person["joints_3d_mm"])[[H36M17.index("left_shoulder"),
                                                               H36M17.index("right_shoulder")]])
    assert shoulders[0] > 150  # facing the camera, as with the default lifter


def test_the_learned_lifter_takes_no_height(photos, tmp_path, capsys):
    assert main(["estimate", str(photos / "astronaut.png"), "--out", str(tmp_path / "out"), "--lifter", "learned",
                 "--height-mm", "1700"]) == 1
    assert "takes no height" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_estimate_with_save_rounds_writes_each_round_and_the_figure(estimator, photos, tmp_path):
    out = tmp_path / "out"
    assert main(["estimate", str(photos / "astronaut.png"), "--out", str(out), "--save-rounds", "--quiet",
                 "--rounds", "2"]) == 0
    (person,) = json.loads((out / "astronaut.json").read_text())["people"]
    assert len(person["rounds"]) == 3  # BlazePose's maps, then two fused
    assert np.array(person["rounds"][0]["projected_2d"]).shape == (17, 2)
    assert (out / "astronaut_rounds.png").is_file()


@pytest.mark.slow
def test_the_old_stage_flags_still_work_and_say_they_are_deprecated(estimator, photos, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["estimate", str(photos / "astronaut.png"), "--out", str(out), "--stages", "--quiet",
                 "--refine-stages", "2"]) == 0
    (person,) = json.loads((out / "astronaut.json").read_text())["people"]
    assert len(person["rounds"]) == 3
    error = capsys.readouterr().err
    assert "--stages is deprecated, use --save-rounds" in error
    assert "--refine-stages is deprecated, use --rounds" in error


@pytest.mark.slow
def test_a_bad_file_in_a_batch_is_skipped_and_the_rest_processed(estimator, photos, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(photos / "astronaut.png", folder / "a.png")
    (folder / "b.jpg").write_bytes(b"definitely not a jpeg")
    data = (photos / "grace_hopper.jpg").read_bytes()
    (folder / "c.jpg").write_bytes(data[: len(data) // 4])
    out = tmp_path / "out"
    assert main(["estimate", str(folder), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "b.jpg: not a readable image" in err and "c.jpg" in err and "2 of 3 file(s) failed" in err
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "a.png"]


@pytest.mark.slow
def test_nobody_in_the_photo_gives_an_empty_list_and_status_1(estimator, tmp_path, capsys):
    Image.fromarray(np.full((240, 320, 3), 90, np.uint8)).save(tmp_path / "wall.png")
    out = tmp_path / "out"
    assert main(["estimate", str(tmp_path / "wall.png"), "--out", str(out), "--quiet"]) == 1
    assert json.loads((out / "wall.json").read_text())["people"] == []
    assert "nobody found" in capsys.readouterr().err


@pytest.mark.slow
def test_grayscale_rgba_and_16_bit_photos_are_estimated(estimator, photos, tmp_path):
    rgb = np.asarray(Image.open(photos / "astronaut.png").convert("RGB"))
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])).save(tmp_path / "rgba.png")
    Image.fromarray(rgb[..., 1].astype(np.uint16) * 257).save(tmp_path / "g16.png")
    shutil.copy(photos / "camera.png", tmp_path / "gray.png")
    out = tmp_path / "out"
    assert main(["estimate", str(tmp_path), "--out", str(out), "--quiet"]) == 0
    for name in ("rgba", "g16", "gray"):
        assert len(json.loads((out / f"{name}.json").read_text())["people"]) == 1


def test_a_folder_without_images_is_an_error(tmp_path, capsys):
    (tmp_path / "readme.txt").write_text("no photos here")
    assert main(["estimate", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    assert "holds no photos or videos" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_an_unwritable_output_folder_fails_before_any_work(photos, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["estimate", str(photos / "astronaut.png"), "--out", str(locked)]) == 1
        assert "not writable" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_an_output_path_that_is_a_file_fails_before_any_work(photos, tmp_path, capsys):
    (tmp_path / "taken").write_text("a file")
    assert main(["estimate", str(photos / "astronaut.png"), "--out", str(tmp_path / "taken")]) == 1
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.slow
def test_photos_with_the_same_name_do_not_overwrite_each_other(estimator, photos, tmp_path):
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        shutil.copy(photos / "astronaut.png", tmp_path / sub / "p.png")
    out = tmp_path / "out"
    assert main(["estimate", str(tmp_path / "x"), str(tmp_path / "y"), "--out", str(out), "--quiet"]) == 0
    assert {"p.json", "p-2.json"} <= {p.name for p in out.iterdir()}


@pytest.mark.slow
def test_evaluate_lsp_on_a_small_folder_writes_its_figures(estimator, data_dir, tmp_path, capsys):
    folder = lsp_folder(data_dir, tmp_path, "lsp", count=3)
    assert main(["evaluate", "lsp", "--data", str(folder), "--json", str(tmp_path / "lsp.json"), "--quiet"]) == 0
    result = json.loads((tmp_path / "lsp.json").read_text())
    assert result["images"] == 3 and set(result["pck"]) == {"blazepose", "beliefs", "refined"}
    assert all(0.0 <= v <= 1.0 for v in result["pck"].values())
    assert "PCK@0.2" in capsys.readouterr().out
    assert main(["evaluate", "lsp", "--data", str(folder), "--start", "2", "--limit", "1", "--learned-stages",
                 "--json", str(tmp_path / "lsp.json"), "--quiet"]) == 0
    result = json.loads((tmp_path / "lsp.json").read_text())
    assert result["images"] == 1 and result["first_image"] == result["last_image"] == "im0002.jpg"
    assert result["settings"]["learned_stages"].endswith("blazepose_stages.pt")
    assert main(["evaluate", "lsp", "--data", str(folder), "--start", "4", "--quiet"]) == 1
    assert "no images from number 4 on: the folder has 3" in capsys.readouterr().err


def test_evaluate_lsp_rejects_a_folder_whose_joints_do_not_match(data_dir, tmp_path, capsys):
    folder = lsp_folder(data_dir, tmp_path, "lsp", count=1)
    np.save(folder / "joints.npy", np.zeros((5, 14, 3)))
    assert main(["evaluate", "lsp", "--data", str(folder), "--quiet"]) == 1
    assert "expected shape (1, 14, 3)" in capsys.readouterr().err
