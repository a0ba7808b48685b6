"""The photo pipeline with each lifter on the four annotated Human3.6M frames, and BlazePose's own 3D.

The frames (``shared/data/h36m/annotated_frames``: S1 Directions, S5 SittingDown, S7
Greeting, S8 WalkDog) carry 2D joints and camera-frame 3D. For each lifter
(:data:`poselift.lifting.choice.LIFTERS`) the default pipeline (``poselift estimate``) runs
on each frame; the person nearest the annotated 2D is compared with it: the 2D error over the
13 joints BlazePose detects (pixels), and PA-MPJPE (mm, Procrustes with scale, no mirroring)
over the 17 joints and over the 12 limb joints; and the error in the camera's view (MPJPE over
17 joints, the pelvises moved together, no turn or scale), lifted without and with the frame's
calibrated camera (its focal length and principal point: the turn from the frame of the ray to
the person into the camera's, :func:`poselift.camera_space.ray_turn`, which
``Estimator.estimate(camera=...)`` applies; ``tests/test_estimator.py`` checks the two agree). BlazePose's own
3D keypoints (the landmark network's ``Identity_4``, MediaPipe's world landmarks: the 3D a
MediaPipe user gets) are compared on the 12 limb joints, the joints both skeletons share.
Four frames show a direction, not a measurement. Prints a table and writes
``benchmarks/results/annotated_frames.json``.

    python benchmarks/annotated_frames.py
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np

from poselift.camera_space import Camera, ray_turn
from poselift.datasets import h36m
from poselift.datasets.paths import data_root
from poselift.detectors.blazepose_joints import BLAZEPOSE_INDEX, H36M_INDEX
from poselift.estimator import Estimator
from poselift.evaluation.metrics import mpjpe, pa_mpjpe
from poselift.images import read_image
from poselift.lifting.choice import LIFTERS
from poselift.nn.lifter_network import INPUT_INDEX
from poselift.skeleton import H36M17

RESULTS = Path(__file__).resolve().parent / "results"
LIMBS = INPUT_INDEX.numpy()


def annotated_frames(root: Path) -> list[tuple[Path, np.ndarray, np.ndarray]]:
    """(photo, (17, 2) pixels, (17, 3) mm in the view frame: x right, y up, z towards the camera) per frame."""
    archive = np.load(root / "test_h36m_body3d.npz")
    truth_3d = archive["S"][..., :3] * 1000.0 * np.array([1.0, -1.0, -1.0])  # metres, OpenCV axes -> ours
    return [(root / str(name), archive["part"][i, :, :2], truth_3d[i]) for i, name in enumerate(archive["imgname"])]


def frame_camera(path: Path, cameras: dict) -> Camera:
    """The calibrated camera of an annotated frame named ``S1_Directions_1.54138969_000001.jpg``."""
    subject, camera_id = path.name.split("_")[0], path.name.split(".")[-2].split("_")[0]
    (found,) = [camera for camera in cameras[subject] if camera.name == camera_id]
    return Camera(found.focal_px, tuple(found.principal), f"{subject} {camera_id}")


def main() -> None:
    frames = annotated_frames(data_root() / "h36m" / "annotated_frames")
    cameras = h36m.load_cameras()
    rows = []
    world_errors = []
    for kind in LIFTERS:
        estimator = Estimator(lifter=kind)
        for path, truth_2d, truth_3d in frames:
            image = read_image(path)
            person = min(estimator.estimate(image), key=lambda p: np.median(np.linalg.norm(p.joints_2d - truth_2d,
                                                                                             axis=1)))
            seen_3d = person.pose_3d @ ray_turn(person.joints_2d, person.confidence, frame_camera(path, cameras))
            detected = np.array([s == "detected" for s in person.source])
            rows.append({"lifter": kind, "frame": path.name,
                         "error_2d_px": float(np.linalg.norm(person.joints_2d - truth_2d, axis=1)[detected].mean()),
                         "pa_mpjpe_17_mm": float(pa_mpjpe(person.pose_3d, truth_3d)),
                         "pa_mpjpe_12_limbs_mm": float(pa_mpjpe(person.pose_3d[LIMBS], truth_3d[LIMBS])),
                         "view_mpjpe_mm": float(mpjpe(person.pose_3d, truth_3d)),
                         "view_mpjpe_with_camera_mm": float(mpjpe(seen_3d, truth_3d))})
            if kind == LIFTERS[0]:  # BlazePose's own 3D does not depend on the lifter
                found = min(estimator.blazepose.find_people(image),
                            key=lambda f: np.median(np.linalg.norm(f.keypoints[BLAZEPOSE_INDEX] - truth_2d[H36M_INDEX],
                                                                   axis=1)))
                world = np.full((len(H36M17), 3), np.nan)
                world[H36M_INDEX] = found.world[BLAZEPOSE_INDEX] * 1000.0 * np.array([1.0, -1.0, -1.0])
                world_errors.append(float(pa_mpjpe(world[LIMBS], truth_3d[LIMBS])))
    print(f"{'lifter':<12}{'2D px':>8}{'PA-MPJPE 17':>13}{'PA-MPJPE 12 limbs':>19}{'view MPJPE':>12}{'with camera':>13}"
          "   per frame (12 limbs)")
    summary = {}
    for kind in LIFTERS:
        mine = [row for row in rows if row["lifter"] == kind]
        summary[kind] = {key: float(np.mean([row[key] for row in mine]))
                         for key in ("error_2d_px", "pa_mpjpe_17_mm", "pa_mpjpe_12_limbs_mm", "view_mpjpe_mm",
                                     "view_mpjpe_with_camera_mm")}
        print(f"{kind:<12}{summary[kind]['error_2d_px']:>8.1f}{summary[kind]['pa_mpjpe_17_mm']:>13.1f}"
              f"{summary[kind]['pa_mpjpe_12_limbs_mm']:>19.1f}{summary[kind]['view_mpjpe_mm']:>12.1f}"
              f"{summary[kind]['view_mpjpe_with_camera_mm']:>13.1f}   "
              + " ".join(f"{row['pa_mpjpe_12_limbs_mm']:.1f}" for row in mine))
    summary["blazepose_world"] = {"pa_mpjpe_12_limbs_mm": float(np.mean(world_errors))}
    print(f"{'BlazePose 3D':<12}{'':>8}{'':>13}{np.mean(world_errors):>19.1f}{'':>25}   "
          + " ".join(f"{e:.1f}" for e in world_errors))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "annotated_frames.json").write_text(json.dumps({
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}",
        "frames": [path.name for path, _, _ in frames], "rows": rows, "blazepose_world_pa_mpjpe_12_limbs_mm":
        world_errors, "mean": summary}, indent=1))


if __name__ == "__main__":
    main()
