"""Where the learned lifter's error lies: size, orientation or shape.

Protocol #1's frames (every 5th, all four cameras, 17 joints) of the given subjects, lifted by
the learned lifter alone with each camera's focal length and principal point. Each pose's
MPJPE (pelvises at 0) is measured as it is, then after the best scale about the pelvis, the
best rotation about it, both, and the full similarity of PA-MPJPE (the scale, rotation and
translation that protocols #2 and #3 forgive). What each alignment removes is what the
network got wrong in the body's size or turn, not in its shape. Mean over poses (not over
actions), mm. Also the median turn between answer and truth (degrees) and the mean best
scale (truth over answer). Prints a table and writes ``benchmarks/results/lifter_error_parts.json``.

    python benchmarks/lifter_error_parts.py [--subjects S9 S8] [--weights runs/x/lifter.pt]
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np

from poselift.evaluation.h36m import PROTOCOLS, Views
from poselift.evaluation.metrics import mpjpe, pa_mpjpe
from poselift.geometry import VIEW_FROM_OPENCV
from poselift.lifting.learned import LearnedLifter

RESULTS = Path(__file__).resolve().parent / "results"


def lifted_and_truth(lifter: LearnedLifter, subject: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    """(N, 17, 3) answers and truths in mm, view frame, pelvis at 0, of a subject's protocol #1 frames."""
    answers, truths = [], []
    for view in Views(source, [subject], step=PROTOCOLS[1].step):
        camera = (view.camera.focal_px, view.camera.principal)
        answers.append(lifter.lift(view.points, view.weights, camera=camera).pose_3d)
        truths.append((view.truth - view.truth[:, :1]) @ VIEW_FROM_OPENCV)
    return np.concatenate(answers), np.concatenate(truths)


def turn_about_pelvis(answers: np.ndarray, truths: np.ndarray) -> np.ndarray:
    """(N, 3, 3) the rotation (no reflection) that best turns each pelvis-centred answer onto its truth."""
    u, _, vt = np.linalg.svd(np.swapaxes(truths, 1, 2) @ answers)
    sign = np.where(np.linalg.det(u @ vt) < 0, -1.0, 1.0)
    u[:, :, -1] *= sign[:, None]
    return u @ vt


def parts(answers: np.ndarray, truths: np.ndarray) -> dict:
    """The error after each alignment, mm, and the turn and scale, of (N, 17, 3) pelvis-centred poses."""
    rotation = turn_about_pelvis(answers, truths)
    turned = answers @ np.swapaxes(rotation, 1, 2)

    def best_scale(poses: np.ndarray) -> np.ndarray:
        return np.einsum("njc,njc->n", poses, truths) / np.einsum("njc,njc->n", poses, poses)

    scale, turned_scale = best_scale(answers), best_scale(turned)
    angle = np.degrees(np.arccos(np.clip((np.trace(rotation, axis1=1, axis2=2) - 1) / 2, -1.0, 1.0)))
    return {
        "poses": len(answers),
        "mpjpe": float(mpjpe(answers, truths).mean()),
        "after_scale": float(mpjpe(answers * scale[:, None, None], truths).mean()),
        "after_rotation": float(mpjpe(turned, truths).mean()),
        "after_rotation_and_scale": float(mpjpe(turned * turned_scale[:, None, None], truths).mean()),
        "pa_mpjpe": float(pa_mpjpe(answers, truths).mean()),
        "median_turn_deg": float(np.median(angle)),
        "mean_scale": float(scale.mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", nargs="+", default=["S9", "S8"])
    parser.add_argument("--weights", help="a lifter.pt (default: the shipped one)")
    args = parser.parse_args()
    lifter = LearnedLifter(args.weights)
    rows = []
    header = ("MPJPE", "scale", "rotation", "both", "PA", "turn deg", "scale x")
    print(f"{'subject':<9}{'input':<7}" + "".join(f"{name:>10}" for name in header))
    for subject in args.subjects:
        for source in ("gt", "sh"):
            row = {"subject": subject, "input": source, **parts(*lifted_and_truth(lifter, subject, source))}
            rows.append(row)
            values = [row[k] for k in ("mpjpe", "after_scale", "after_rotation", "after_rotation_and_scale",
                                       "pa_mpjpe", "median_turn_deg", "mean_scale")]
            print(f"{subject:<9}{source:<7}" + "".join(f"{v:>10.2f}" for v in values))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "lifter_error_parts.json").write_text(json.dumps({
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}",
        "protocol": "#1 frames (every 5th, all cameras, 17 joints), mean over poses", "lifter": "learned",
        "weights": str(lifter.path), "answer_frame": lifter.answer_frame, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
