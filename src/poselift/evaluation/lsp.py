"""2D accuracy on Leeds Sports Pose: BlazePose as it is, and after the 3D refinement (5.2-5.5).

Protocol (stated in the README): every image of the folder (``images/im*.jpg`` sorted, and
``joints.npy`` (N, 14, 3) in LSP order with a flag where 0 = visible); the person compared
is, among those found, the one whose BlazePose keypoints lie nearest the annotation
(median distance over the 12 limb joints); images where nobody is found count as misses
in PCK and are left out of the pixel error. PCK@0.2: a joint is correct when within 0.2 x
the torso size (distance from the right shoulder to the left hip) of the annotation; both
figures are over the 12 limb joints (hips, knees, ankles, shoulders, elbows, wrists), all
of them, visible or not, as annotated. Neck and head top, which BlazePose lacks, are
reported separately for the refined poses (they come from the 3D model). PCK is also
broken down by the annotated torso's lean from image-up (upright < 30 degrees, leaning
30-120, upside down > 120), which shows where the upright prior helps or hurts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..datasets.lsp import load_lsp
from ..lifting.choice import lifter_settings
from ..skeleton import BLAZEPOSE33, H36M17, LSP14, convert
from .metrics import PCK_FRACTION, pck_hits, torso_size

__all__ = ["LIMB_JOINTS", "METHODS", "POSTURES", "evaluate_lsp", "format_lsp_table"]

LIMB_JOINTS = tuple(n for n in LSP14.joints if n not in ("upper_neck", "head_top"))
METHODS = ("blazepose", "beliefs", "refined")
"""BlazePose's regressed keypoints; the argmax of the belief maps the refinement starts from
(eq. 3: BlazePose's, or the learned stages' with ``learned_stages``); the joints after the
lift-project-fuse rounds."""

_LIMBS = np.array([LSP14.index(n) for n in LIMB_JOINTS])
POSTURES = ("upright", "leaning", "upside down")


def _in_lsp(points: np.ndarray, joint_set) -> np.ndarray:
    return convert(points, joint_set, LSP14).points


def evaluate_lsp(estimator, data_dir: str | Path | None = None, start: int = 0, limit: int | None = None,
                 progress: bool = False) -> dict:
    """PCK@0.2 and pixel error of the three :data:`METHODS` on an LSP folder (module
    docstring), from image ``start`` (0-based) on, ``limit`` images at most.

    Raises:
        ValueError: ``start`` leaves no image.
    """
    from tqdm import tqdm

    from ..images import read_image

    data = load_lsp(data_dir)
    stop = None if limit is None else start + limit
    images, truth = data.images[start:stop], data.joints[start:stop]
    if not images:
        raise ValueError(f"no images from number {start + 1} on: the folder has {len(data.images)}")
    n = len(images)
    predictions = {m: np.full((n, 14, 2), np.nan) for m in METHODS}
    found = np.zeros(n, dtype=bool)
    for i, path in enumerate(tqdm(images, desc="lsp", unit="image", disable=not progress, file=sys.stderr)):
        people = estimator.estimate(read_image(path))
        if not people:
            continue
        distance = [np.median(np.linalg.norm(_in_lsp(p.detector.keypoints_2d, BLAZEPOSE33)[_LIMBS] - truth[i, _LIMBS],
                                             axis=1)) for p in people]
        person = people[int(np.argmin(distance))]
        found[i] = True
        predictions["blazepose"][i] = _in_lsp(person.detector.keypoints_2d, BLAZEPOSE33)
        predictions["beliefs"][i] = _in_lsp(person.rounds[0].joints_2d, H36M17)
        predictions["refined"][i] = _in_lsp(person.joints_2d, H36M17)

    torso = torso_size(truth, LSP14)
    errors = {m: np.linalg.norm(p - truth, axis=-1) for m, p in predictions.items()}  # (N, 14), NaN if missed
    correct = {m: pck_hits(e, torso) for m, e in errors.items()}  # NaN (missed): False
    result = {
        "dataset": "lsp", "images": n, "first_image": images[0].name, "last_image": images[-1].name,
        "people_found": int(found.sum()),
        "settings": {"rounds": estimator.rounds, "fusion_weight": estimator.fusion_weight, "fast": estimator.fast,
                     "sigma_cells": estimator.sigma, "learned_stages": estimator.learned_path,
                     **lifter_settings(estimator.lifter)},
        "joints": list(LIMB_JOINTS), "pck_threshold": f"{PCK_FRACTION} x |right shoulder - left hip|",
        "pck": {m: float(correct[m][:, _LIMBS].mean()) for m in METHODS},
        "pixel_error": {m: float(np.nanmean(errors[m][found][:, _LIMBS])) for m in METHODS},
        "pck_per_joint": {m: {LSP14.joints[j]: float(correct[m][:, j].mean()) for j in _LIMBS} for m in METHODS},
        "model_joints_pck": {name: float(correct["refined"][:, LSP14.index(name)].mean())
                             for name in ("upper_neck", "head_top")},
    }
    posture = _posture(truth)
    result["pck_by_posture"] = {
        kind: {"images": int(np.sum(posture == kind)),
               **{m: float(correct[m][posture == kind][:, _LIMBS].mean()) if np.any(posture == kind) else None
                  for m in METHODS}}
        for kind in POSTURES}
    change = np.full(n, np.nan)  # per image: mean limb error after refinement less before
    change[found] = errors["refined"][found][:, _LIMBS].mean(axis=1) - errors["beliefs"][found][:, _LIMBS].mean(axis=1)
    ranked = np.argsort(-np.nan_to_num(change, nan=-np.inf))
    result["refinement_change"] = {
        "images_better": int(np.sum(change < -0.5)), "images_worse": int(np.sum(change > 0.5)),
        "worst_images": [{"image": images[i].name, "mean_error_change_px": round(float(change[i]), 1)}
                         for i in ranked[:10] if np.isfinite(change[i])],
    }
    return result


def _posture(truth: np.ndarray) -> np.ndarray:
    """(N,) posture of each annotated pose by the lean of its torso (mid-hips to
    mid-shoulders) from image-up: upright (< 30 degrees), leaning (30-120), upside down (> 120)."""
    hips = truth[:, [LSP14.index("left_hip"), LSP14.index("right_hip")]].mean(axis=1)
    shoulders = truth[:, [LSP14.index("left_shoulder"), LSP14.index("right_shoulder")]].mean(axis=1)
    up = shoulders - hips
    lean = np.degrees(np.abs(np.arctan2(up[:, 0], -up[:, 1])))
    return np.where(lean < 30, "upright", np.where(lean <= 120, "leaning", "upside down"))


def format_lsp_table(result: dict) -> str:
    """PCK and pixel error per method, then PCK per joint, as text."""
    learned = result["settings"]["learned_stages"]
    lines = [f"LSP: {result['images']} images ({result['first_image']} to {result['last_image']}), "
             f"a person found in {result['people_found']}; "
             f"PCK@{result['pck_threshold']} and mean pixel error over {len(result['joints'])} limb joints; "
             f"refinement: {result['settings']['rounds']} round(s), w={result['settings']['fusion_weight']}"
             f"{', fast mode' if result['settings']['fast'] else ''}"
             f"{', learned stages ' + learned if learned else ''}, lifter {result['settings']['lifter']}",
             f"{'method':<12}{'PCK@0.2':>9}{'error px':>10}"]
    for m in METHODS:
        lines.append(f"{m:<12}{100 * result['pck'][m]:>8.1f}%{result['pixel_error'][m]:>10.2f}")
    lines.append(f"{'joint':<16}" + "".join(f"{m:>11}" for m in METHODS))
    for joint in result["joints"]:
        lines.append(f"{joint:<16}" + "".join(f"{100 * result['pck_per_joint'][m][joint]:>10.1f}%" for m in METHODS))
    lines.append(f"{'posture':<16}" + "".join(f"{m:>11}" for m in METHODS) + "   images")
    for kind, row in result["pck_by_posture"].items():
        if row["images"]:
            lines.append(f"{kind:<16}" + "".join(f"{100 * row[m]:>10.1f}%" for m in METHODS) + f"{row['images']:>9}")
    model = result["model_joints_pck"]
    lines.append(f"from the 3D model (refined): upper neck {100 * model['upper_neck']:.1f}%, "
                 f"head top {100 * model['head_top']:.1f}%")
    change = result["refinement_change"]
    lines.append(f"refinement vs beliefs: {change['images_better']} images better, {change['images_worse']} worse "
                 f"(mean error change > 0.5 px)")
    return "\n".join(lines)
