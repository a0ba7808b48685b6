"""The Human3.6M protocols of section 6, for lifting 2D joints to 3D.

Each test frame of each camera is lifted on its own (unless ``smoothing`` asks for each
sequence's poses to be smoothed over time, :mod:`poselift.video.smoothing`), with the
camera's known rotation as the E of eq. 4 (its yaw is absorbed by the searched angle) and,
unless turned off, one perspective correction with its focal length, and
the answer is compared, in that camera's frame, with the ground truth:

=========  ===========================  ==========  =======  ======  ====================
protocol   test subjects (paper)        frames      cameras  joints  alignment
=========  ===========================  ==========  =======  ======  ====================
#1         S9, S11                      every 5th   all 4    17      root (pelvis) joints
#2         S11 (trained also on S9)     every 64th  all 4    14      Procrustes (similarity)
#3         S9, S11                      every one   cam 3    14      Procrustes
=========  ===========================  ==========  =======  ======  ====================

S11 is sealed here, so S9 stands in by default (``--subjects`` takes any list). "Cam 3" is
the third camera in the usual order, 58860488; "trial 1" of protocol #3 is the first of an
action's two sequences in name order ("Directions" before "Directions 1", "Sitting 1"
before "Sitting 2"). The 14 joints are H36M-17 without pelvis, spine and neck/nose (the LSP
joints, with H36M's thorax for LSP's neck). Every protocol reports both MPJPE (root
aligned) and PA-MPJPE, per action and averaged over actions, as in Tables 1 and 2; every
frame (``frame_step=1``) also gives the acceleration error (mm per frame squared at 50
frames/s, :func:`~poselift.evaluation.metrics.acceleration_error`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..camera_space import Camera, place_root, view_to_camera_axes
from ..datasets import h36m
from ..geometry import PRIOR_FROM_WORLD, VIEW_FROM_OPENCV, PinholeCamera
from ..lifting import Lifter
from ..lifting.choice import DEFAULT_LIFTER, LIFTERS
from ..lifting.hypotheses import check_request
from ..lifting.learned import LearnedLifter
from ..lifting.lifter import DEFAULT_GUIDE_WEIGHT
from ..prior.model import PosePrior
from ..skeleton import H36M17, convert, get_joint_set
from ..video.smoothing import SMOOTHINGS, Smoothing, smooth_sequence
from .metrics import acceleration_error, mpjpe, pa_mpjpe

__all__ = ["Protocol", "PROTOCOLS", "FOURTEEN_JOINTS", "View", "Views", "camera_lift_rotation", "evaluate_h36m",
           "format_table", "load_2d_input"]

METRICS = ("mpjpe", "pa_mpjpe", "mrpe", "depth_error_pct")
"""Per pose: MPJPE after aligning the root, after Procrustes alignment; root position error and
depth error (percent of the true depth) of :func:`~poselift.camera_space.place_root`."""

H36M_FPS = 50.0
"""Frames per second of Human3.6M's poses and detections."""

FOURTEEN_JOINTS = tuple(j for j, n in enumerate(H36M17.joints) if n not in ("pelvis", "spine", "neck_nose"))
"""Indices of the 14 joints of protocols #2 and #3."""


@dataclass(frozen=True)
class Protocol:
    """One evaluation protocol: which frames and joints, and how poses are aligned."""

    name: str
    step: int
    cameras: tuple[str, ...]
    first_trial_only: bool
    joints: tuple[int, ...]
    headline: str  # "mpjpe" or "pa_mpjpe": the paper's metric for this protocol


PROTOCOLS = {
    1: Protocol("#1", 5, h36m.CAMERA_ORDER, False, tuple(range(17)), "mpjpe"),
    2: Protocol("#2", 64, h36m.CAMERA_ORDER, False, FOURTEEN_JOINTS, "pa_mpjpe"),
    3: Protocol("#3", 1, (h36m.CAMERA_ORDER[2],), True, FOURTEEN_JOINTS, "pa_mpjpe"),
}


def camera_lift_rotation(camera) -> np.ndarray:
    """The E of eq. 4 for an H36M camera: prior frame -> the camera's view axes."""
    return VIEW_FROM_OPENCV @ camera.rotation @ PRIOR_FROM_WORLD.T


def _first_trials(sequences: list[str]) -> set[str]:
    by_action: dict[str, list[str]] = {}
    for name in sorted(sequences):
        by_action.setdefault(h36m.action_of(name), []).append(name)
    return {names[0] for names in by_action.values()}


def load_2d_input(source: str, subject: str, data_dir) -> tuple[dict, str]:
    """2D input other than ground truth: (sequence, camera) -> (frames, J, 2), joint set."""
    if source == "sh":
        return h36m.load_detections_sh(subject, data_dir), "sh16"
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such 2D input file (expected gt, sh or an .npz)")
    try:
        with np.load(path) as archive:
            entries = {k: archive[k] for k in archive.files}
    except Exception as err:
        raise ValueError(f"{path}: not a readable .npz of 2D detections ({err})") from err
    joint_set = str(entries.pop("joint_set", "")) or None
    out = {}
    for key, points in entries.items():
        if not key.startswith(f"{subject}/"):
            continue
        sequence, _, camera = key[len(subject) + 1:].rpartition(".")
        out[(sequence.replace("_", " "), camera)] = points
    if not out:
        raise ValueError(f"{path}: no entries for {subject}; keys must look like '{subject}/Walking_1.54138969'")
    num_joints = next(iter(out.values())).shape[-2]
    if joint_set is None:
        joint_set = {16: "sh16", 17: "h36m17", 14: "lsp14"}.get(num_joints)
        if joint_set is None:
            raise ValueError(f"{path}: {num_joints} joints per pose; add a 'joint_set' entry naming the set")
    return out, joint_set


@dataclass(frozen=True)
class View:
    """One Human3.6M sequence seen by one camera: its 2D input and its 3D truth, every ``step``-th frame.

    Attributes:
        subject, sequence: whose sequence, by name ("Walking 1").
        camera: its calibrated :class:`~poselift.geometry.PinholeCamera`.
        points: (F, 17, 2) pixels, H36M-17 joints (NaN where the input lacks one).
        weights: (F, 17) 1 for a joint the input gives, the least of its sources' for one derived
            from others, 0 for one it lacks (:func:`~poselift.skeleton.convert`); None for
            ground-truth 2D (every joint seen).
        approximate: names of the joints the input only approximates (:func:`~poselift.skeleton.convert`).
        truth: (F, 17, 3) millimetres in the camera's OpenCV axes (x right, y down, z forward).
    """

    subject: str
    sequence: str
    camera: PinholeCamera
    points: np.ndarray
    weights: np.ndarray | None
    approximate: tuple[str, ...]
    truth: np.ndarray


class Views:
    """The (sequence, camera) pairs of ``subjects`` that a 2D input holds, each read as a :class:`View`
    when iterated, one at a time: the subjects' 3D poses and 2D input are loaded when it is made,
    but each view's frames are stepped, converted and projected only when its turn comes.

    Args:
        source: ``"gt"`` (ground-truth 3D projected with the full camera model), ``"sh"`` (the
            Stacked-Hourglass detections) or an ``.npz`` (:func:`load_2d_input`).
        subjects: Human3.6M subjects.
        cameras: camera names to keep (default: all four).
        first_trial_only: keep only the first of each action's sequences (protocol #3).
        step: every ``step``-th frame.
        data_dir: folder laid out like ``shared/data`` (default: :func:`data_root`).

    Attributes:
        skipped: the pairs the input lacks, as ``"S11 'Directions' camera 54138969"`` (the standard
            SH release has no S11 "Directions" for that camera).

    Raises:
        FileNotFoundError, ValueError: (when made) a 2D input file that is missing or unreadable
            (:func:`load_2d_input`).
        ValueError: (when iterated) a pair whose 2D and 3D frame counts differ.
    """

    def __init__(self, source: str, subjects, cameras: tuple[str, ...] = h36m.CAMERA_ORDER,
                 first_trial_only: bool = False, step: int = 1, data_dir=None) -> None:
        self.step = step
        all_cameras = h36m.load_cameras(data_dir)
        self._pairs, self.skipped = [], []
        for subject in subjects:
            poses = h36m.load_poses_3d(subject, data_dir)
            inputs, joint_set = (None, "h36m17") if source == "gt" else load_2d_input(source, subject, data_dir)
            keep = _first_trials(list(poses)) if first_trial_only else set(poses)
            for camera in all_cameras[subject]:
                if camera.name not in cameras:
                    continue
                for sequence in sorted(keep):
                    if inputs is None or (sequence, camera.name) in inputs:
                        self._pairs.append((subject, sequence, camera, poses[sequence], inputs, joint_set))
                    else:
                        self.skipped.append(f"{subject} {sequence!r} camera {camera.name}")

    def __len__(self) -> int:
        return len(self._pairs)

    def __iter__(self):
        for subject, sequence, camera, world, inputs, joint_set in self._pairs:
            stepped = world[:: self.step].astype(np.float64)
            truth = camera.world_to_camera(stepped)
            if inputs is None:
                yield View(subject, sequence, camera, camera.project(stepped), None, (), truth)
                continue
            detected = inputs[sequence, camera.name]
            if len(detected) != len(world):
                raise ValueError(f"{subject} {sequence!r} camera {camera.name}: {len(detected)} 2D frames "
                                 f"but {len(world)} 3D frames")
            conversion = convert(detected[:: self.step], get_joint_set(joint_set), H36M17)
            yield View(subject, sequence, camera, conversion.points, conversion.weights,
                       tuple(conversion.approximate), truth)


def evaluate_h36m(prior: PosePrior, protocol: int, source: str = "gt", subjects=("S9",),
                  data_dir=None, progress: bool = False, approximate_weight: float = 0.0, perspective: bool = True,
                  lifter: str = DEFAULT_LIFTER, learned=None, guide_weight: float = DEFAULT_GUIDE_WEIGHT,
                  frame_step: int | None = None, hypotheses: int | None = None,
                  tally: HypothesisTally | None = None,
                  smoothing: Smoothing | tuple[Smoothing, ...] = SMOOTHINGS["none"],
                  **lift_options) -> dict:
    """Run a protocol: lift every selected frame and measure it.

    Args:
        prior: the pose prior to lift with.
        protocol: 1, 2 or 3.
        source: ``"gt"`` (ground-truth 3D projected with the full camera model), ``"sh"``
            (the Stacked-Hourglass detections) or the path of an ``.npz`` laid out like
            ``detections_sh`` with keys ``"<subject>/<Sequence_name>.<camera>"``.
        subjects: test subjects.
        data_dir: folder laid out like ``shared/data`` (default: :func:`data_root`).
        progress: show a progress bar.
        approximate_weight: lifting weight of joints the input only approximates (the
            Stacked-Hourglass spine and head; default 0, chosen on the validation subject);
            joints it lacks get 0.
        perspective: correct for perspective with the camera's focal length and principal
            point (:meth:`~poselift.lifting.Lifter.lift_perspective`), and turn a network's
            answer from the ray's frame into the camera's with them
            (:class:`~poselift.lifting.learned.LearnedLifter`); False: the paper's plain weak
            perspective, and the person taken to stand on the optical axis.
        lifter: ``"prior"`` (section 5.3), ``"learned"`` (the network alone) or ``"combined"`` (the prior's
            search with the network's pose as a term of eq. 4,
            :mod:`poselift.lifting.combined`).
        learned: the :class:`~poselift.lifting.learned.LearnedLifter` of the last two (default:
            the shipped one).
        guide_weight: the combined lifter's weight of the network's pose.
        frame_step: every n-th frame instead of the protocol's (for quick validation runs; the
            result then names its own step).
        hypotheses: lift with up to this many hypotheses (prior and combined lifters,
            :mod:`poselift.lifting.hypotheses`); the headline numbers stay the most probable
            one's, and the result gains ``mpjpe_best_of_k`` metrics and a ``"hypotheses"`` entry
            with the calibration (:class:`HypothesisTally`).
        tally: the :class:`HypothesisTally` to gather the hypotheses in (default: a new one),
            for a caller that wants every pose's numbers (``benchmarks/hypotheses.py`` fits the
            calibration from them).
        smoothing: smooth each (sequence, camera)'s poses over its frames, at 50 frames/s over
            the frame step (:mod:`poselift.video.smoothing`), every joint weighted alike; a tuple
            of them: the poses are lifted once and measured under each (a list of results).
        **lift_options: passed to :class:`~poselift.lifting.Lifter` (angles, refine,
            regularization, scale_prior).

    Returns:
        A dict with the protocol, per-action and average MPJPE and PA-MPJPE (mm), MRPE (mm)
        and depth error (percent) of the roots placed in camera space (:data:`METRICS`), frame
        counts, a description of the input and the (sequence, camera) pairs skipped because
        the 2D input lacks them (:attr:`Views.skipped`); with ``frame_step=1``, also the
        acceleration error (``accel_error``, mm per frame squared).

    Raises:
        ValueError: the 2D input has none of the protocol's (sequence, camera) pairs.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be 1, 2 or 3, got {protocol}")
    if lifter not in LIFTERS:
        raise ValueError(f"lifter must be one of {', '.join(LIFTERS)}, got {lifter!r}")
    if lifter == "combined" and not (guide_weight > 0 and np.isfinite(guide_weight)):
        raise ValueError(f"guide weight must be positive and finite, got {guide_weight}")
    if lifter != "prior" and learned is None:
        learned = LearnedLifter()
    check_request(hypotheses, lifter)
    spec = PROTOCOLS[protocol]
    if frame_step is not None:
        if frame_step < 1:
            raise ValueError(f"frame_step must be positive, got {frame_step}")
        spec = replace(spec, step=frame_step)
    several_smoothings = not isinstance(smoothing, Smoothing)
    smoothings = tuple(smoothing) if several_smoothings else (smoothing,)
    if hypotheses and smoothings != (SMOOTHINGS["none"],):
        raise ValueError("hypotheses are measured frame by frame: they take no smoothing")
    several = (tally or HypothesisTally(hypotheses)) if hypotheses else None
    views = Views(source, subjects, spec.cameras, spec.first_trial_only, spec.step, data_dir)
    if not len(views):
        skipped = views.skipped
        raise ValueError(f"the 2D input has none of the protocol's {len(skipped)} (sequence, camera) pairs, "
                         f"e.g. {skipped[0]}" if skipped else "the protocol selects no frames")
    prior_lifters: dict[tuple[str, str], Lifter] = {}

    def lifted_sequences():
        """Each (sequence, camera) lifted: what :func:`_measured` measures."""
        for view in tqdm(views, disable=not progress, desc=f"protocol {spec.name}"):
            camera, points, weights = view.camera, view.points, view.weights
            if weights is not None:
                weights = weights.copy()
                for name in view.approximate:
                    weights[..., H36M17.index(name)] *= approximate_weight
            guide = None if lifter == "prior" else learned.lift(  # camera view frame
                points, weights, camera=(camera.focal_px, camera.principal) if perspective else None).pose_3d
            lifted = rotation = None
            if lifter == "learned":
                view_pose = guide
            else:
                rotation = camera_lift_rotation(camera)
                lifter_key = (view.subject, camera.name)
                if lifter_key not in prior_lifters:
                    prior_lifters[lifter_key] = Lifter(prior, camera_rotation=rotation, **lift_options)
                search = prior_lifters[lifter_key]
                if perspective:
                    lifted = search.lift_perspective(points, camera.focal_px, camera.principal,
                                                     weights, guide=guide, guide_weight=guide_weight,
                                                     hypotheses=hypotheses)
                else:
                    lifted = search.lift(points, weights, guide=guide, guide_weight=guide_weight,
                                         hypotheses=hypotheses)
                view_pose = lifted.pose_3d @ rotation.T
            yield (view.sequence, camera, points, weights, view_pose, view.truth,
                   lifted.hypotheses if several else None, rotation)

    # one smoothing: each sequence measured as it is lifted, then dropped; several: all kept, lifted once
    sequences = list(lifted_sequences()) if several_smoothings else lifted_sequences()
    description = {
        "protocol": spec.name,
        "headline": spec.headline,
        "subjects": list(subjects),
        "input": source,
        "lifter": lifter,
        "lifter_weights": None if lifter == "prior" else learned.path.name,
        "guide_weight": guide_weight if lifter == "combined" else None,
        "perspective_correction": perspective and (lifter != "learned" or learned.answer_frame == "ray"),
        "frame_step": spec.step,
        "cameras": list(spec.cameras),
        "first_trial_only": spec.first_trial_only,
        "joints": [H36M17.joints[j] for j in spec.joints],
        "prior": None if lifter == "learned" else prior.describe(),
        "skipped": views.skipped,
    }
    results = [{**description, **_measured(sequences, spec, each, several)} for each in smoothings]
    return results if several_smoothings else results[0]


def _measured(lifted_sequences, spec: Protocol, smoothing: Smoothing, several) -> dict:
    """The metrics of :func:`evaluate_h36m` of the lifted sequences (an iterable), smoothed by ``smoothing``."""
    errors: dict[str, dict[str, list]] = {}
    measured = METRICS + (("accel_error",) if spec.step == 1 else ())
    joints = list(spec.joints)
    for sequence, camera, points, weights, view_pose, truth, hypotheses, rotation in lifted_sequences:
        if smoothing.mode != "none":
            view_pose = smooth_sequence(view_pose - view_pose[:, :1], smoothing, H36M_FPS / spec.step)
        predicted = view_to_camera_axes(view_pose)  # the camera's OpenCV axes
        bucket = errors.setdefault(h36m.action_of(sequence), {m: [] for m in measured + (several.metrics if several
                                                                                              else ())})
        if several:
            several.add(bucket, hypotheses, rotation, truth, joints)
        relative, true_relative = (predicted - predicted[:, :1])[:, joints], (truth - truth[:, :1])[:, joints]
        bucket["mpjpe"].append(mpjpe(relative, true_relative, root=None))
        bucket["pa_mpjpe"].append(pa_mpjpe(predicted[:, joints], truth[:, joints]))
        if "accel_error" in bucket:
            bucket["accel_error"].append(acceleration_error(relative, true_relative, root=None))
        root = place_root(view_pose - view_pose[:, :1], camera.undistort(points), weights,
                          Camera(camera.focal_px, tuple(camera.principal), camera.name))
        bucket["mrpe"].append(np.linalg.norm(root - truth[:, 0], axis=-1))
        bucket["depth_error_pct"].append(100.0 * np.abs(root[:, 2] - truth[:, 0, 2]) / truth[:, 0, 2])

    per_action = {action: {m: float(np.nanmean(np.concatenate(v))) for m, v in metrics.items()}
                  for action, metrics in sorted(errors.items())}
    frames = {action: int(sum(len(x) for x in metrics["mpjpe"])) for action, metrics in sorted(errors.items())}
    reported = measured + (several.metrics if several else ())
    all_frames = {m: float(np.nanmean(np.concatenate([np.concatenate(e[m]) for e in errors.values()])))
                  for m in reported}
    unplaced = int(sum(np.isnan(np.concatenate(e["mrpe"])).sum() for e in errors.values()))
    return {
        "smoothing": smoothing.describe(),
        "per_action": per_action,
        "frames": frames,
        "average_over_actions": {m: float(np.mean([a[m] for a in per_action.values()])) for m in reported},
        "average_over_frames": all_frames,
        "root_not_placed": unplaced,
        "hypotheses": several.result() if several else None,
    }


RELIABILITY_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.683, 0.7, 0.8, 0.9, 0.954, 0.99)
"""Nominal two-sided Gaussian levels at which the hypotheses' calibration is read (68.3% and
95.4%: within 1 and 2 standard deviations)."""


class HypothesisTally:
    """What several hypotheses a pose add to a protocol run, gathered sequence by sequence.

    Every pose's numbers are kept: ``relative_costs`` (n, H) and ``errors`` (n, H), each
    hypothesis's relative cost and protocol error (NaN: none); ``deviations`` and ``offsets``
    (m, 3), every non-root joint's predicted standard deviation and error along the camera's
    axes, mm; ``predicted`` (n,), each pose's mean predicted standard deviation.

    * ``mpjpe_best_of_k`` per pose (k = 3, 5 and the number asked for, those not above it):
      the lowest protocol error among the k most probable hypotheses (the "oracle" number of
      multi-hypothesis papers).
    * Calibration, over every non-root joint of the protocol: each camera-axis coordinate's
      error over its predicted standard deviation (the joint covariance of
      :class:`~poselift.lifting.hypotheses.Hypotheses` in the camera's axes); the fraction
      within each of :data:`RELIABILITY_LEVELS`'s Gaussian bounds, per axis and overall; and
      Spearman's rank correlation between each pose's predicted uncertainty (its joints' mean
      standard deviation) and its MPJPE.
    """

    KEPT = ("relative_costs", "errors", "deviations", "offsets", "predicted")

    def __init__(self, count: int):
        self.count = count
        self.oracles = tuple(k for k in sorted({3, 5, count}) if 2 <= k <= count)
        self.metrics = tuple(f"mpjpe_best_of_{k}" for k in self.oracles)
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name in self.KEPT}

    def __getattr__(self, name: str) -> np.ndarray:
        if name not in self.KEPT:
            raise AttributeError(name)
        return np.concatenate(self.parts[name])

    def add(self, bucket: dict, found, rotation: np.ndarray, truth: np.ndarray, joints: list[int]) -> None:
        """One sequence's poses: found (n,) hypotheses, the camera's E, truth (n, L, 3) mm in
        camera axes, the protocol's joints."""
        poses = view_to_camera_axes(found.pose_3d @ rotation.T)  # (n, H, L, 3)
        aligned = (poses - poses[..., :1, :])[..., joints, :]
        target = (truth - truth[:, :1])[:, joints]
        each = np.linalg.norm(aligned - target[:, None], axis=-1).mean(axis=-1)  # (n, H), NaN: no hypothesis
        for k, name in zip(self.oracles, self.metrics):
            bucket[name].append(np.nanmin(each[:, :k], axis=1))
        to_camera = VIEW_FROM_OPENCV @ rotation  # its own inverse: view axes -> the camera's OpenCV axes
        covariance = to_camera @ found.joint_covariance @ to_camera.T  # (n, L, 3, 3)
        moving = [j for j in joints if j != 0]  # the root is where it is: no uncertainty
        deviation = np.sqrt(np.diagonal(covariance[:, moving], axis1=-2, axis2=-1))  # (n, J, 3)
        offset = (poses[:, 0] - poses[:, 0, :1])[:, moving] - (truth - truth[:, :1])[:, moving]
        for name, value in zip(self.KEPT, (found.relative_cost, each, deviation.reshape(-1, 3), offset.reshape(-1, 3),
                                           found.joint_sd[:, moving].mean(axis=1))):
            self.parts[name].append(value)

    def result(self) -> dict:
        """The summary a protocol run reports (``"hypotheses"`` of its result)."""
        from scipy.stats import spearmanr

        bounds = np.array([_normal_bound(level) for level in RELIABILITY_LEVELS])
        score = np.abs(self.offsets) / self.deviations  # (m, 3)
        fractions = (score[..., None] <= bounds).mean(axis=0)  # (3, levels)
        overall = fractions.mean(axis=0)
        predicted, actual = self.predicted, self.errors[:, 0]
        return {
            "count": self.count,
            "oracles": list(self.oracles),
            "levels": list(RELIABILITY_LEVELS),
            "within": {"all": overall.tolist(), **{axis: fractions[i].tolist() for i, axis in enumerate("xyz")}},
            "within_1sd": float(overall[RELIABILITY_LEVELS.index(0.683)]),
            "within_2sd": float(overall[RELIABILITY_LEVELS.index(0.954)]),
            "rank_correlation": float(spearmanr(predicted, actual).statistic),
            "median_sd_mm": float(np.median(predicted)),
            "sd_mm_95th_percentile": float(np.percentile(predicted, 95)),
        }


def _normal_bound(level: float) -> float:
    """The z with P(|N(0, 1)| <= z) = level."""
    from scipy.special import ndtri

    return float(ndtri(0.5 + level / 2))


def format_table(result: dict) -> str:
    """The per-action table of a result, like the paper's Tables 1 and 2."""
    lifter = result["lifter"] + (f" ({result['lifter_weights']})" if result["lifter_weights"] else "")
    if result["guide_weight"] is not None:
        lifter += f", guide weight {result['guide_weight']:g}"
    if result["lifter"] != "learned" and not result["perspective_correction"]:
        lifter += ", weak perspective"
    lines = [f"Human3.6M protocol {result['protocol']}, subjects {' '.join(result['subjects'])}, "
             f"input {result['input']}, lifter {lifter}, "
             f"every {result['frame_step']} frame(s), smoothing {result['smoothing']['mode']}, "
             f"cameras {' '.join(result['cameras'])}"
             f"{', first trial only' if result['first_trial_only'] else ''}, {len(result['joints'])} joints",
             f"{'action':<14}{'frames':>8}{'MPJPE mm':>10}{'PA-MPJPE mm':>13}{'MRPE mm':>9}{'depth err %':>13}"]

    several = result.get("hypotheses")
    oracles = [f"mpjpe_best_of_{k}" for k in several["oracles"]] if several else []
    lines[-1] += "".join(f"{'best of ' + name.rsplit('_', 1)[1]:>11}" for name in oracles)
    lines[-1] += f"{'accel mm/f2':>12}" if "accel_error" in result["average_over_frames"] else ""

    def row(name: str, frames: int, values: dict) -> str:
        return (f"{name:<14}{frames:>8}{values['mpjpe']:>10.1f}{values['pa_mpjpe']:>13.1f}{values['mrpe']:>9.0f}"
                f"{values['depth_error_pct']:>13.1f}" + "".join(f"{values[m]:>11.1f}" for m in oracles)
                + (f"{values['accel_error']:>12.2f}" if "accel_error" in values else ""))

    for action, values in result["per_action"].items():
        lines.append(row(action, result["frames"][action], values))
    total = sum(result["frames"].values())
    lines.append(row("Average", total, result["average_over_actions"]))
    lines.append(row("(all frames)", total, result["average_over_frames"]))
    if several:
        lines.append(f"{several['count']} hypotheses: {100 * several['within_1sd']:.1f}% of coordinates within 1 SD "
                     f"(68.3% ideal), {100 * several['within_2sd']:.1f}% within 2 SD (95.4%); rank correlation of "
                     f"predicted uncertainty with error {several['rank_correlation']:.2f}; a pose's mean SD: median "
                     f"{several['median_sd_mm']:.0f} mm, 95th percentile {several['sd_mm_95th_percentile']:.0f} mm")
    if result["skipped"]:
        lines.append(f"skipped {len(result['skipped'])} (sequence, camera) pair(s) the 2D input lacks: "
                     f"{'; '.join(result['skipped'])}")
    return "\n".join(lines)
