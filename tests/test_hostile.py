"""Hostile input, one test (at least) per class of failure: every bad input ends in one
``poselift: ...`` line and exit status 1, never a traceback, a non-finite number, a lost or a
half-written output. (Outputs that would overwrite inputs: tests/test_outputs.py; options out of
range: tests/test_parameters.py; files carrying code: tests/test_security.py.)"""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from poselift.cli import main
from poselift.estimate_output import estimate_files
from poselift.images import IMAGE_SUFFIXES, ImageError, _upright, list_images, read_image
from poselift.lifting import Lifter
from poselift.prior import PosePrior
from poselift.skeleton import COCO17

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "astronaut.png"


def _lift(path: Path, fmt: str, tmp_path: Path, *extra: str) -> int:
    return main(["lift", str(path), "--format", fmt, "--out", str(tmp_path / "out.json"), "--quiet", *extra])


def _pose_triplets(rng, count: int = 17) -> list[float]:
    """A plausible pose as a flat (x, y, v) list: an upright stick figure with noise."""
    base = np.array([[0, 0], [-1, 0], [1, 0], [-2, 0], [2, 0], [-3, 3], [3, 3], [-5, 6], [5, 6], [-6, 9], [6, 9],
                     [-2, 10], [2, 10], [-2, 15], [2, 15], [-2, 20], [2, 20]], float)[:count] * 20 + 300
    return np.column_stack([base + rng.normal(0, 2, base.shape), np.full(count, 2.0)]).ravel().tolist()


# ---- class 2 and 6: numbers that are not numbers, and files that claim too much -------------
@pytest.mark.parametrize("document, message", [
    ('[{"keypoints": [' + ", ".join(["1e400"] * 51) + "]}]", "too large"),
    ('[{"keypoints": [' + ", ".join(["NaN"] * 51) + "]}]", "NaN is not a number JSON allows"),
    ('[{"keypoints": [' + ", ".join(["1" + "0" * 400] * 51) + "]}]", "a number too large"),
    ('[{"keypoints": [' + ", ".join(["true"] * 51) + "]}]", "holds bool where numbers belong"),
    ('[{"keypoints": [' + ", ".join(['"475"'] * 51) + "]}]", "holds str where numbers belong"),
    ('[{"keypoints": [' + ", ".join(["null"] * 51) + "]}]", "holds null where numbers belong"),
    ("[" * 100_000 + "]" * 100_000, "nested too deep"),
])
def test_coco_numbers_that_are_not_numbers_are_refused(tmp_path, capsys, document, message):
    path = tmp_path / "k.json"
    path.write_text(document)
    assert _lift(path, "coco", tmp_path) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"poselift: {path}") and message in error and "Traceback" not in error
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("people", ["7", "null", "[7]", "[null]", '[{"pose_keypoints_2d": "x"}]'])
def test_openpose_people_that_are_not_people_are_refused(tmp_path, capsys, people):
    path = tmp_path / "frame_keypoints.json"
    path.write_text(f'{{"people": {people}}}')
    assert _lift(path, "openpose", tmp_path) == 1
    assert capsys.readouterr().err.startswith(f"poselift: {path}: ")


def test_an_npy_whose_header_claims_a_huge_shape_is_refused_without_allocating(tmp_path, capsys):
    path = tmp_path / "huge.npy"
    with open(path, "wb") as f:  # a header claiming 9 billion poses, then the data of two
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (9 * 10**9, 17, 2)})
        f.write(np.zeros((2, 17, 2)).tobytes())
    assert _lift(path, "h36m", tmp_path) == 1
    assert f"poselift: {path}: not a readable .npy array" in capsys.readouterr().err


@pytest.mark.parametrize("dtype", [bool, complex, "U3"])
def test_an_npy_of_other_values_than_numbers_is_refused(tmp_path, capsys, dtype):
    path = tmp_path / "odd.npy"
    np.save(path, np.zeros((2, 17, 2), dtype=dtype))
    assert _lift(path, "h36m", tmp_path) == 1
    assert f"poselift: {path}: the array holds" in capsys.readouterr().err


def test_coordinates_far_beyond_any_image_are_marked_not_lifted(tmp_path, capsys):
    rng = np.random.default_rng(0)
    points = rng.uniform(100, 400, (3, 17, 2))
    points[1] *= 1e300
    path = tmp_path / "far.npy"
    np.save(path, points)
    assert _lift(path, "h36m", tmp_path) == 0
    assert f"{path}: 1 of 3 pose(s) could not be lifted" in capsys.readouterr().err
    poses = json.loads((tmp_path / "out.json").read_text(), parse_constant=float)["poses"]
    assert [pose["lifted"] for pose in poses] == [True, False, True]
    assert poses[1]["error"] == "a coordinate lies beyond 1e+06 pixels (of the 12 limb joints)"


@pytest.mark.filterwarnings("error")  # a warning would reach the user beside the refusal
def test_coordinates_near_the_float_limit_give_one_line_and_no_warning(tmp_path, capsys):
    """COCO-17's pelvis is the mean of its hips: 1e308 there overflows, which must not print a
    numpy warning beside poselift's own refusal."""
    path = tmp_path / "huge.json"
    path.write_text(json.dumps([{"keypoints": [1e308, 1e308, 2.0] * len(COCO17)}]))
    assert _lift(path, "coco", tmp_path) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"poselift: {path}: no pose could be lifted; pose 0: a coordinate lies beyond 1e+06 pixels (of the 12 limb "
        "joints)"]


def test_a_coco_annotation_without_keypoints_does_not_fail_the_file(tmp_path, capsys):
    rng = np.random.default_rng(1)
    empty = {"id": 42, "num_keypoints": 0, "keypoints": [0] * 51}
    path = tmp_path / "coco.json"
    path.write_text(json.dumps({"annotations": [{"id": 7, "keypoints": _pose_triplets(rng)}, empty]}))
    assert _lift(path, "coco", tmp_path) == 0
    assert "1 of 2 pose(s) could not be lifted" in capsys.readouterr().err
    first, second = json.loads((tmp_path / "out.json").read_text())["poses"]
    assert first["label"] == "7" and first["lifted"]
    assert second["label"] == "42" and not second["lifted"] and "at least 6 are needed" in second["error"]


def test_a_mocap_file_claiming_ten_billion_frames_is_refused(tmp_path, capsys):
    folder = tmp_path / "mocap"
    folder.mkdir()
    (folder / "x.bvh").write_text("HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 3 Xposition Yposition "
                                  "Zposition\n End Site\n {\n  OFFSET 0 1 0\n }\n}\nMOTION\nFrames: 9999999999\n"
                                  "Frame Time: 0.01\n0 0 0\n")
    assert main(["train-prior", "--mocap", str(folder), "--out", str(tmp_path / "p.npz"), "--quiet"]) == 1
    assert "announces 9999999999 frames but holds 1" in capsys.readouterr().err


@pytest.mark.parametrize("change", [
    {"metadata": "not a dict"}, {"joint_set": ["h36m17"]}, {"joint_set": None}, {"size_mm": "1147"},
    {"metadata": {"training_data": "x" * 1_000_000}}, {"version": "2"}, {"format": 7},
])
def test_prior_files_with_odd_headers_are_refused_or_read_safely(tmp_path, capsys, change):
    path = tmp_path / "prior.npz"
    PosePrior.default().save(path)
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = {**json.loads(str(arrays.pop("header"))), **change}
    np.savez(path, header=np.array(json.dumps(header)), **arrays)
    status = main(["show-prior", "--prior", str(path), "--out", str(tmp_path / "p.png")])
    out, error = capsys.readouterr()
    if status == 0:  # a long description is cut, not refused
        assert "training_data" in change.get("metadata", {}) and len(out.splitlines()[0]) < 400
    else:
        assert status == 1 and error.startswith(f"poselift: {path}: ") and "Traceback" not in error


def test_a_prior_file_holding_a_zip_bomb_is_refused_before_decompressing(tmp_path, capsys):
    path = tmp_path / "bomb.npz"
    PosePrior.default().save(path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("extra.npy", b"\0" * (65 * 2**20))  # 65 MB of zeros, 64 kB compressed
    points = tmp_path / "p.npy"
    np.save(points, np.zeros((1, 17, 2)))
    assert main(["lift", str(points), "--format", "h36m", "--lifter", "prior", "--prior", str(path), "--out",
                 str(tmp_path / "o.json")]) == 1
    assert "holds more than 64 MB" in capsys.readouterr().err


# ---- class 3: one bad file never stops a batch ------------------------------------------------
class _FailsOnTallPhotos:
    """An estimator that raises what a broken decoder or EXIF block raises, for photos 77 pixels tall."""

    rounds, fusion_weight, sigma, height_mm, fast, learned_path, hypotheses = 1, 0.8, 1.5, None, False, None, None

    def __init__(self) -> None:
        self.prior = PosePrior.default()
        self.lifter = Lifter(self.prior, angles=4)

    def estimate(self, image, max_people=None, pixel_scale=1.0, camera=None):
        if image.shape[0] == 77:
            raise struct.error("unpack requires a buffer of 4 bytes")
        return []


def test_an_error_of_any_kind_in_one_photo_is_that_photos_failure(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.new("RGB", (40, 77)).save(folder / "a.png")
    Image.new("RGB", (40, 50)).save(folder / "b.png")
    (folder / "c.avif").write_bytes(b"\0\0\0\x1cftypavif" + bytes(200))  # an AVIF that cannot be decoded
    (tmp_path / "out").mkdir()
    report = estimate_files(list_images([folder]), tmp_path / "out", _FailsOnTallPhotos(), progress=False)
    assert [path.name for path, _ in report.failed] == ["a.png", "c.avif"]
    assert report.failed[0][1] == f"{folder / 'a.png'}: error: unpack requires a buffer of 4 bytes"
    assert report.failed[1][1].startswith(f"{folder / 'c.avif'}: not a readable image")
    assert [path.name for path in report.nobody] == ["b.png"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.json", "b.png"]
    assert "skipped" in capsys.readouterr().err


def test_a_damaged_exif_block_leaves_the_pixels_as_stored():
    class BrokenExif:
        def getexif(self):
            raise TypeError("unhashable type: 'list'")

    image = BrokenExif()
    assert _upright(image) is image


def test_folder_scans_take_every_format_pillow_decodes(tmp_path):
    assert {".avif", ".jpg", ".png", ".webp", ".tif"} <= set(IMAGE_SUFFIXES)
    assert ".mpg" not in IMAGE_SUFFIXES and ".h5" not in IMAGE_SUFFIXES
    Image.new("RGB", (8, 8)).save(tmp_path / "x.avif")
    assert list_images([tmp_path]) == [tmp_path / "x.avif"]
    assert read_image(tmp_path / "x.avif").shape == (8, 8, 3)


def test_a_photo_beyond_the_pixel_limit_is_refused_clearly(tmp_path):
    path = tmp_path / "big.png"
    Image.new("1", (20000, 10000)).save(path)  # 200 million pixels, a few kB on disk
    with pytest.raises(ImageError, match="more than 179 million pixels"):
        read_image(path)


# ---- class 7: messages say which file and which pose, options are checked before work ----------
def test_lift_onto_an_existing_folder_or_an_empty_name_fails_before_any_work(tmp_path, capsys):
    points = tmp_path / "p.npy"
    np.save(points, np.zeros((1, 17, 2)))
    for out in (str(tmp_path), ""):
        assert main(["lift", str(points), "--format", "h36m", "--out", out]) == 1
        assert "exists and is not a regular file" in capsys.readouterr().err


def test_estimate_checks_the_height_before_any_work(tmp_path, capsys):
    assert main(["estimate", str(EXAMPLE), "--height-mm", "-5", "--out", str(tmp_path / "o")]) == 1
    assert capsys.readouterr().err == "poselift: height must lie in [300, 3000] mm, got -5.0\n"
    assert not (tmp_path / "o").exists()


def test_a_nan_in_one_pose_of_many_names_that_pose(tmp_path, capsys):
    rng = np.random.default_rng(2)
    annotations = [{"id": 100 + i, "keypoints": _pose_triplets(rng)} for i in range(6)]
    annotations[4]["keypoints"][3] = 1e400  # json.dumps writes Infinity
    path = tmp_path / "coco.json"
    path.write_text(json.dumps({"annotations": annotations}))
    assert _lift(path, "coco", tmp_path) == 1
    assert f"poselift: {path}: not a JSON file (Infinity is not a number JSON allows)" in capsys.readouterr().err


def test_tflite_says_nothing_on_a_normal_run(tmp_path, capfd):
    from poselift.detectors import BlazePose

    BlazePose()
    assert "XNNPACK" not in capfd.readouterr().err


def test_coco17_keypoints_of_the_stick_figure_lift(tmp_path):
    """The fixture pose above is liftable: the refusals in this module are the inputs' doing."""
    rng = np.random.default_rng(3)
    path = tmp_path / "coco.json"
    path.write_text(json.dumps([{"id": 1, "keypoints": _pose_triplets(rng, len(COCO17))}]))
    assert _lift(path, "coco", tmp_path) == 0
