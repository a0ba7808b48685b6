"""The exports measured: BVH round trips (positions in, BVH, positions out) and the HTML viewer's size and speed.

BVH rows (Human3.6M S9, every 50th frame of every sequence, in the view frame of camera
54138969; errors in mm over all 17 joints, read back by poselift's reader; bvhio, a reader
nobody here wrote, is compared on the same files):

- ``S9 mocap``: the ground-truth poses. Their skeleton keeps its bone lengths, but left and
  right differ a little: the error is the rest pose's left/right averaging.
- ``S9 mocap, lengths of the rest pose``: the same poses with each bone set to the rest
  pose's length: the exact case (the error is the file's 6 decimals).
- ``S9 lifted``: the combined lifter's poses from ground-truth 2D, one motion per sequence and
  camera: lifted bone lengths vary from frame to frame, and the BVH keeps one length per bone.
- ``photo``: ``poselift estimate`` of the bundled photo (one frame; left/right averaging).

Camera-space row: how much of the root error is the body-size assumption. S9, every 64th
frame of every sequence, all four cameras, ground-truth 2D, the combined lifter with the
perspective correction (as ``evaluate h36m``): the mean signed depth error, and MRPE with the
lifted pose as it is and scaled to the true pose's size (sum of squared bone lengths).

Viewer rows: the template's size, the page of the bundled photo's result, and in headless
Chromium (Debian's, through Playwright) the time from opening the file to the first drawing
and the time to redraw the 3D view (mean of 200 turns).

    python benchmarks/exports.py
"""

from __future__ import annotations

import json
import platform
import statistics
import tempfile
import time
from importlib import resources
from pathlib import Path

import numpy as np

from poselift.camera_space import Camera, place_root
from poselift.cli import main
from poselift.datasets import h36m
from poselift.datasets.bvh import read_bvh
from poselift.evaluation.h36m import camera_lift_rotation
from poselift.export.bvh import rest_bone_lengths, write_bvh
from poselift.export.html import to_html
from poselift.export.result import read_result
from poselift.geometry import VIEW_FROM_OPENCV
from poselift.lifting.combined import CombinedLifter
from poselift.prior.model import PosePrior
from poselift.skeleton import H36M17

RESULTS = Path(__file__).resolve().parent / "results"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "astronaut.png"
STEP = 50


def conform(positions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``positions`` with each bone's direction kept and its length set to ``lengths``."""
    out = positions.copy()
    for child, parent in H36M17.bones:
        direction = positions[:, child] - positions[:, parent]
        out[:, child] = out[:, parent] + lengths[child] * direction / np.linalg.norm(direction, axis=-1, keepdims=True)
    return out


def round_trip(motions: list[np.ndarray], folder: Path) -> dict:
    """Errors (mm) of positions -> BVH -> positions over ``motions`` (each (frames, 17, 3)), and
    the largest difference between poselift's reader and bvhio on the same files."""
    import bvhio

    errors, readers = [], 0.0
    for k, motion in enumerate(motions):
        path = folder / f"motion{k}.bvh"
        write_bvh(path, motion)
        read = read_bvh(path)
        back = read.positions[:, [read.names.index(n) for n in H36M17.joints]]
        errors.append(np.linalg.norm(back - motion, axis=-1).ravel())
        hierarchy = bvhio.readAsHierarchy(str(path))
        for frame in (0, len(motion) - 1):
            hierarchy.loadPose(frame)
            seen = {joint.Name: np.array(joint.PositionWorld) for joint, _, _ in hierarchy.layout()}
            readers = max(readers, max(np.linalg.norm(seen[n] - back[frame, j]) for j, n in enumerate(H36M17.joints)))
    every = np.concatenate(errors)
    return {"motions": len(motions), "frames": int(sum(len(m) for m in motions)), "mean_mm": float(every.mean()),
            "max_mm": float(every.max()), "bvhio_vs_poselift_max_mm": float(readers)}


def bvh_rows(folder: Path) -> dict:
    camera = h36m.load_cameras()["S9"][0]
    sequences = h36m.load_poses_3d("S9")
    to_view = VIEW_FROM_OPENCV @ camera.rotation
    mocap, lifted = [], []
    lifter = CombinedLifter(PosePrior.default(), camera_rotation=camera_lift_rotation(camera))
    for name in sorted(sequences):
        world = sequences[name][::STEP].astype(np.float64)
        view = world @ to_view.T
        mocap.append(view - view[:, :1])
        pose = lifter.lift(camera.project(world)).pose_3d @ lifter.prior_lifter.camera_rotation.T
        lifted.append(pose)
    exact = [conform(m, rest_bone_lengths(m)) for m in mocap]
    photo_dir = folder / "photo"
    main(["estimate", str(EXAMPLE), "--out", str(photo_dir), "--quiet"])
    photo = read_result(photo_dir / "astronaut.json").frames[0].people[0].joints_3d_mm[None]
    return {"S9 mocap": round_trip(mocap, folder), "S9 mocap, lengths of the rest pose": round_trip(exact, folder),
            "S9 lifted (combined, ground-truth 2D)": round_trip(lifted, folder), "photo": round_trip([photo], folder)}


def limb_size(poses: np.ndarray) -> np.ndarray:
    """(frames,) square root of the summed squared bone lengths."""
    return np.sqrt(sum(np.sum((poses[:, c] - poses[:, p]) ** 2, -1) for c, p in H36M17.bones))


def camera_space_row() -> dict:
    signed, plain, true_size = [], [], []
    sequences = h36m.load_poses_3d("S9")
    for camera in h36m.load_cameras()["S9"]:
        rotation = camera_lift_rotation(camera)
        lifter = CombinedLifter(PosePrior.default(), camera_rotation=rotation)
        pinhole = Camera(camera.focal_px, tuple(camera.principal), camera.name)
        for name in sorted(sequences):
            world = sequences[name][::64].astype(np.float64)
            truth, points = camera.world_to_camera(world), camera.project(world)
            lifted = lifter.lift_perspective(points, pinhole.focal_px, camera.principal).pose_3d @ rotation.T
            lifted -= lifted[:, :1]
            undistorted = camera.undistort(points)
            root = place_root(lifted, undistorted, None, pinhole)
            signed.append((root[:, 2] - truth[:, 0, 2]) / truth[:, 0, 2])
            plain.append(np.linalg.norm(root - truth[:, 0], axis=-1))
            ratio = limb_size(truth) / limb_size(lifted)
            scaled = place_root(lifted * ratio[:, None, None], undistorted, None, pinhole)
            true_size.append(np.linalg.norm(scaled - truth[:, 0], axis=-1))
    return {"frames": int(sum(len(s) for s in signed)),
            "signed_depth_error_pct": float(100 * np.mean(np.concatenate(signed))),
            "mrpe_mm": float(np.mean(np.concatenate(plain))),
            "mrpe_true_size_mm": float(np.mean(np.concatenate(true_size)))}


def viewer_rows(folder: Path) -> dict:
    from playwright.sync_api import sync_playwright

    template = resources.files("poselift.export").joinpath("viewer.html").read_text(encoding="utf-8")
    photo_dir = folder / "photo"
    page_path = folder / "astronaut.html"
    page_path.write_text(to_html(read_result(photo_dir / "astronaut.json")))
    loads, redraws = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        for _ in range(5):
            page = browser.new_page(viewport={"width": 1200, "height": 640})
            start = time.perf_counter()
            page.goto(page_path.as_uri())
            page.wait_for_function("window.poselift && window.poselift.ready")
            loads.append(time.perf_counter() - start)
            redraws.append(page.evaluate("""() => { const t = performance.now();
                for (let k = 0; k < 200; k++) window.poselift.setView(k, 10);
                return (performance.now() - t) / 200; }"""))
            page.close()
        browser.close()
    return {"template_bytes": len(template.encode()), "photo_page_bytes": page_path.stat().st_size,
            "load_to_first_drawing_ms": 1000 * statistics.median(loads),
            "redraw_3d_ms": statistics.median(redraws)}


def main_benchmark() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bvh = bvh_rows(folder)
        viewer = viewer_rows(folder)
    placement = camera_space_row()
    print(f"{'BVH round trip':<42}{'motions':>8}{'frames':>8}{'mean mm':>9}{'max mm':>9}{'bvhio vs ours mm':>18}")
    for name, row in bvh.items():
        print(f"{name:<42}{row['motions']:>8}{row['frames']:>8}{row['mean_mm']:>9.3f}{row['max_mm']:>9.3f}"
              f"{row['bvhio_vs_poselift_max_mm']:>18.5f}")
    print(f"viewer: template {viewer['template_bytes'] / 1024:.1f} KB, "
          f"photo page {viewer['photo_page_bytes'] / 1024:.0f} KB, "
          f"load to first drawing {viewer['load_to_first_drawing_ms']:.0f} ms, "
          f"3D redraw {viewer['redraw_3d_ms']:.3f} ms")
    print(f"camera space (S9, ground-truth 2D, combined, {placement['frames']} frames): signed depth error "
          f"{placement['signed_depth_error_pct']:+.1f}%, MRPE {placement['mrpe_mm']:.0f} mm, "
          f"with the true body size {placement['mrpe_true_size_mm']:.0f} mm")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "exports.json"
    out.write_text(json.dumps({"machine": platform.platform(), "bvh_round_trip": bvh, "viewer": viewer,
                               "camera_space": placement, "frame_step": STEP}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main_benchmark()
