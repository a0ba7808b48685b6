"""Result documents read back, CSV tables and the HTML viewer (in a real browser where one is installed)."""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from poselift.export import write_exports
from poselift.export.html import to_html
from poselift.export.result import read_result, result_from_document
from poselift.export.table import COLUMNS, to_csv
from poselift.prior.model import PosePrior
from poselift.skeleton import H36M17

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "astronaut.png"
CHROMIUM = "/usr/bin/chromium"


def estimate_document(people: int = 2, camera: bool = True, image: Path = EXAMPLE) -> dict:
    """A poselift.estimate document with ``people`` prior mean poses side by side."""
    prior = PosePrior.default()
    pose = prior.to_millimetres(prior.means[0])
    entries = []
    for k in range(people):
        joints_2d = 200 + 0.1 * pose[:, :2] * [1, -1] + [150 * k, 0]
        entries.append({"joints_2d": joints_2d.tolist(), "confidence": np.linspace(0, 1, 17).tolist(),
                        "joints_3d_mm": pose.tolist(),
                        "root_camera_mm": [1000.0 * k - 500, 100.0, 4000.0] if camera else None,
                        "joints_camera_mm": (pose * [1, -1, -1] + [1000.0 * k - 500, 100.0, 4000.0]).tolist()
                        if camera else None})
    return {"format": "poselift.estimate", "version": 2, "image": {"path": str(image), "width": 512, "height": 512},
            "joint_names": list(H36M17.joints), "bones": H36M17.bones.tolist(),
            "settings": {"lifter": "combined"},
            "camera": {"focal_px": 500.0, "principal_px": [256.0, 256.0], "source": "fov"} if camera else None,
            "people": entries}


def test_a_foreign_or_broken_file_is_refused_clearly(tmp_path):
    cases = {
        "other.json": json.dumps({"format": "someone.else", "version": 1}),
        "list.json": "[1, 2, 3]",
        "text.json": "not json at all",
        "pickle.json": pickle.dumps({"format": "poselift.estimate"}),
        "future.json": json.dumps({**estimate_document(), "version": 99}),
        "evaluation.json": json.dumps({"format": "poselift.evaluation", "version": 1}),
    }
    messages = {"other.json": "not a poselift result", "list.json": "not a poselift result",
                "text.json": "not a JSON document", "pickle.json": "not a JSON document",
                "future.json": "version 99", "evaluation.json": "not a poselift result"}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        with pytest.raises(ValueError, match=messages[name]) as error:
            read_result(path)
        assert str(path) in str(error.value)
    with pytest.raises(FileNotFoundError):
        read_result(tmp_path / "missing.json")


@pytest.mark.parametrize("field, value, message", [
    ("joints_3d_mm", [[0.0, 0.0, 0.0]] * 16, "shape"),
    ("joints_3d_mm", [[float("nan"), 0.0, 0.0]] * 17, "NaN"),
    ("joints_2d", [["a", "b"]] * 17, "not an array of numbers"),
    ("root_camera_mm", [1.0, float("inf"), 3.0], "NaN or infinite"),
])
def test_bad_numbers_name_the_person(field, value, message):
    document = estimate_document()
    document["people"][1][field] = value
    with pytest.raises(ValueError, match=f"person 2: '{field}'.*{message}|person 2: '{field}' {message}"):
        result_from_document(document, "r.json")


def test_a_document_missing_its_parts_is_malformed_not_a_crash():
    document = estimate_document()
    del document["image"]
    with pytest.raises(ValueError, match="malformed"):
        result_from_document(document)


def test_the_csv_has_a_row_per_person_and_joint_that_reads_back():
    result = result_from_document(estimate_document(people=2))
    rows = list(csv.DictReader(io.StringIO(to_csv(result))))
    assert len(rows) == 2 * 17 and tuple(rows[0]) == COLUMNS
    assert [r["joint"] for r in rows[:17]] == list(H36M17.joints)
    person = result.frames[0].people[1]
    back = np.array([[float(r[k]) for k in ("x_mm", "y_mm", "z_mm")] for r in rows[17:]])
    np.testing.assert_allclose(back, person.joints_3d_mm, atol=0.05)
    camera = np.array([[float(r[k]) for k in ("camera_x_mm", "camera_y_mm", "camera_z_mm")] for r in rows[17:]])
    np.testing.assert_allclose(camera[0], person.root_camera_mm, atol=0.05)  # the pelvis is the root
    np.testing.assert_allclose(camera[:, 1] - camera[0, 1], -back[:, 1], atol=0.1)  # camera y points down


def test_without_a_camera_the_camera_columns_are_empty():
    rows = list(csv.DictReader(io.StringIO(to_csv(result_from_document(estimate_document(camera=False))))))
    assert {r["camera_z_mm"] for r in rows} == {""}


def test_the_page_loads_nothing_from_elsewhere_and_stays_small():
    page = to_html(result_from_document(estimate_document()))
    assert "http://" not in page and "https://" not in page
    assert len(page.encode()) < 2_000_000
    assert page.count("<script") == 2  # the data and the viewer, nothing fetched


def test_text_in_a_result_cannot_end_the_pages_script():
    document = estimate_document()
    document["image"]["path"] = "</script><script>alert(1)</script>.png"
    page = to_html(result_from_document(document))
    assert "</script><script>alert(1)" not in page
    data = page.split('id="poselift-data">')[1].split("</script>")[0]
    assert json.loads(data)["frames"][0]["name"] == document["image"]["path"]


def test_a_result_with_nobody_gets_a_page_that_says_so_and_no_bvh(tmp_path):
    result = result_from_document(estimate_document(people=0))
    assert "Nobody was found" in to_html(result)
    with pytest.raises(ValueError, match="no BVH written"):
        write_exports(result, {"csv": tmp_path / "r.csv", "bvh": tmp_path / "r.bvh"})
    assert not list(tmp_path.iterdir())


def test_a_failed_export_leaves_none_of_the_others(tmp_path):
    result = result_from_document(estimate_document(people=1))
    (tmp_path / "taken.html").mkdir()  # a folder where the page would go
    with pytest.raises(OSError, match="not a regular file"):
        write_exports(result, {"csv": tmp_path / "r.csv", "html": tmp_path / "taken.html"})
    assert [p.name for p in tmp_path.iterdir()] == ["taken.html"]


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Playwright; skips (fails under CI) where either is missing."""
    reason = None
    if not Path(CHROMIUM).is_file():
        reason = f"{CHROMIUM} is not installed (make test installs Debian's chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = reason or "playwright is not installed (pip install -e '.[test]')"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()


def open_page(browser, path: Path):
    """The page at ``path`` once drawn, with the console errors and requests it made."""
    page = browser.new_page(viewport={"width": 1200, "height": 640})
    errors, requests = [], []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    page.wait_for_function("window.poselift && window.poselift.ready")
    return page, errors, requests


def skeleton_pixels(page, canvas: str, joints) -> np.ndarray:
    """(n, 3) RGB of a screenshot at the given CSS-pixel points of a canvas."""
    from PIL import Image

    box = page.locator(canvas).bounding_box()
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(int)
    return np.array([shot[int(round(box["y"] + y)), int(round(box["x"] + x))] for x, y in joints])


def test_the_viewer_draws_the_joints_where_it_says_and_turns(tmp_path, browser):
    path = tmp_path / "viewer.html"
    path.write_text(to_html(result_from_document(estimate_document(people=2))))
    page, errors, requests = open_page(browser, path)
    assert errors == [] and requests == [path.as_uri()]
    before = np.array(page.evaluate("window.poselift.joints3d()"))
    assert before.shape == (2, 17, 2)
    background = np.array([252, 252, 252])
    assert (np.abs(skeleton_pixels(page, "#view3d", before.reshape(-1, 2)) - background).sum(-1) > 60).all()
    box = page.locator("#view3d").bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(box["x"] + 220, box["y"] + 130, steps=6)
    page.mouse.up()
    after = np.array(page.evaluate("window.poselift.joints3d()"))
    assert page.evaluate("window.poselift.view()")["yaw"] == pytest.approx(60.0)
    assert np.abs(after - before).max() > 20
    assert (np.abs(skeleton_pixels(page, "#view3d", after.reshape(-1, 2)) - background).sum(-1) > 60).all()
    joint = after[1, H36M17.index("head_top")]
    page.mouse.click(box["x"] + joint[0], box["y"] + joint[1])
    assert page.evaluate("window.poselift.picked()") == [1, H36M17.index("head_top")]
    assert "person 2, head_top" in page.locator("#info").inner_text()
    assert errors == []


def test_the_photo_and_its_2d_joints_are_drawn(tmp_path, browser):
    path = tmp_path / "photo.html"
    path.write_text(to_html(result_from_document(estimate_document(people=1))))
    page, errors, _ = open_page(browser, path)
    joints = np.array(page.evaluate("window.poselift.joints2d()"))[0]
    scale = page.locator("#view2d").bounding_box()["width"] / 512
    document_joints = np.array(estimate_document(people=1)["people"][0]["joints_2d"])
    np.testing.assert_allclose(joints, document_joints * scale, atol=0.5)
    assert errors == []


def test_a_lift_of_many_frames_plays_and_steps(tmp_path, browser):
    prior = PosePrior.default()
    poses = prior.to_millimetres(prior.sample(5, seed=1))
    document = {"format": "poselift.lift", "version": 2, "joint_names": list(H36M17.joints), "lifter": "prior",
                "poses": [{"label": k, "lifted": True, "joints_3d_mm": p.tolist(),
                           "projected_2d_px": (0.2 * p[:, :2] * [1, -1] + 300).tolist(), "weights": [1.0] * 17}
                          for k, p in enumerate(poses)] + [{"label": 5, "lifted": False, "error": "too few joints"}]}
    path = tmp_path / "lift.html"
    path.write_text(to_html(result_from_document(document)))
    page, errors, _ = open_page(browser, path)
    first = page.evaluate("window.poselift.joints3d()")
    page.locator("#slider").fill("3")
    assert page.evaluate("window.poselift.view()")["frame"] == 3
    assert page.evaluate("window.poselift.joints3d()") != first
    assert "frame 4 of 5" in page.locator("#frameLabel").inner_text()
    page.locator("#play").click()
    page.wait_for_function("window.poselift.view().frame !== 3")
    assert errors == []


def test_the_viewer_of_a_photo_with_nobody_opens_without_errors(tmp_path, browser):
    path = tmp_path / "nobody.html"
    path.write_text(to_html(result_from_document(estimate_document(people=0))))
    page, errors, _ = open_page(browser, path)
    assert "Nobody was found" in page.locator("#notes").inner_text()
    assert errors == []



def test_the_viewer_draws_the_other_hypotheses_and_each_joints_uncertainty(tmp_path, browser):
    from poselift.lifting import Lifter

    prior = PosePrior.default()
    poses = prior.to_millimetres(prior.sample(3, seed=2))
    found = Lifter(prior).lift(0.25 * poses[..., :2] * [1, -1] + 300, hypotheses=4)
    document = {"format": "poselift.lift", "version": 2, "joint_names": list(H36M17.joints), "lifter": "prior",
                "poses": [{"label": k, "lifted": True, "joints_3d_mm": found.pose_3d[k].tolist(),
                           "projected_2d_px": found.projected_2d[k].tolist(), "weights": [1.0] * 17,
                           **found.hypotheses.fields(k)} for k in range(3)]}
    result = result_from_document(json.loads(json.dumps(document)))
    assert len(result.frames[0].people[0].alternatives) == found.hypotheses.count[0] - 1
    path = tmp_path / "hypotheses.html"
    path.write_text(to_html(result))
    page, errors, _ = open_page(browser, path)
    assert page.evaluate("window.poselift.drawn()") == {"alternatives": int(found.hypotheses.count[0] - 1),
                                                        "rings": 17}
    assert "standard deviation" in page.locator("#view3d + .legend").inner_text()
    box = page.locator("#view3d").bounding_box()
    joint = np.array(page.evaluate("window.poselift.joints3d()"))[0, H36M17.index("left_wrist")]
    page.mouse.click(box["x"] + joint[0], box["y"] + joint[1])
    assert "standard deviation" in page.locator("#info").inner_text()
    assert errors == []
