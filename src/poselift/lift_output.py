"""``poselift lift``'s work: a keypoint file lifted to 3D, as its JSON document, one file or many.

The document (``poselift.lift``, version :data:`SCHEMA_VERSION`) is described in
``docs/output-format.md``. :func:`lift_document` makes it from one file; :func:`lift_task`
does one file of a run over many (:mod:`poselift.batch`), each into its own
``<out>/<name>.json``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from .batch.engine import model_for, task_row
from .batch.summary import Row
from .files import json_header, rounded, write_json
from .lifting.choice import DEFAULT_LIFTER
from .lifting.hypotheses import check_request
from .lifting.learned import TAKES_NO_HEIGHT
from .lifting.lifter import DEFAULT_ANGLES

__all__ = ["SCHEMA_VERSION", "LIFT_BLOCK", "LiftSettings", "LiftModel", "LiftJob", "lift_document", "converted",
           "lift_poses", "lift_task", "finished_poses", "output_paths", "KEYPOINT_SUFFIXES"]

SCHEMA_VERSION = 2
"""Version of the ``poselift.lift`` JSON document (docs/output-format.md)."""

LIFT_BLOCK = 2048
"""Frames lifted at a time, so that long files show progress."""

KEYPOINT_SUFFIXES = {"coco": (".json",), "openpose": (".json",), "h36m": (".npy",), "lsp": (".npy",),
                     "npy": (".npy",)}
"""The files of each ``--format`` that a folder contributes to a run."""


@dataclass(frozen=True)
class LiftSettings:
    """``poselift lift``'s options (hashable: a Dask worker builds its lifter once per run).

    ``format``/``joints``: the input (:func:`poselift.keypoints.read_keypoints`); ``prior``: a
    prior file (None: the shipped one); ``angles``, ``approximate_weight``, ``height_mm``:
    the lift's (docs/lifting.md); ``focal_px``, ``principal_px``: a pinhole camera
    (perspective correction and camera space); ``lifter``, ``lifter_weights``: the lifter;
    ``hypotheses``: up to this many 3D poses per 2D pose (docs/hypotheses.md).
    """

    format: str
    joints: str = "h36m17"
    prior: str | None = None
    angles: int = DEFAULT_ANGLES
    approximate_weight: float = 0.0
    height_mm: float | None = None
    focal_px: float | None = None
    principal_px: tuple[float, float] | None = None
    lifter: str = DEFAULT_LIFTER
    lifter_weights: str | None = None
    hypotheses: int | None = None

    @property
    def learned_only(self) -> bool:
        return self.lifter == "learned"

    def check(self) -> None:
        """Refuse combinations that cannot work, before any file is read."""
        if self.focal_px is not None and self.principal_px is None:
            raise ValueError("--focal-px needs --principal-px X Y (the principal point, often the image centre)")
        if self.learned_only and self.height_mm is not None:
            raise ValueError(TAKES_NO_HEIGHT)
        if self.learned_only and self.prior:
            raise ValueError("--prior needs --lifter prior or combined: the learned lifter uses no prior")
        check_request(self.hypotheses, self.lifter)

    def options(self) -> dict:
        """The options the document records (with which a rerun recognises a finished file)."""
        return {k: v for k, v in asdict(self).items()
                if k in ("joints", "angles", "approximate_weight", "height_mm", "hypotheses")}

    def build(self) -> LiftModel:
        from .camera_space import Camera
        from .lifting.choice import build_lifter
        from .prior.model import PosePrior

        self.check()
        prior = None if self.learned_only else (PosePrior.load(self.prior) if self.prior else PosePrior.default())
        if prior is not None:
            prior.millimetres_per_unit(self.height_mm)  # an impossible height fails before any work
        options = {} if self.learned_only else {"angles": self.angles}
        lifter = build_lifter(self.lifter, prior, self.lifter_weights, **options)
        camera = None if self.focal_px is None else Camera(self.focal_px, tuple(self.principal_px), "focal-px")
        return LiftModel(prior, lifter, camera)


@dataclass(frozen=True)
class LiftModel:
    """What :meth:`LiftSettings.build` builds: the prior (None for the learned lifter), the lifter, the camera."""

    prior: object
    lifter: object
    camera: object


@dataclass(frozen=True)
class LiftJob:
    """One keypoint file and the JSON it goes to."""

    path: Path
    out: Path


def lift_document(path: Path, settings: LiftSettings, model: LiftModel, progress: bool = False) -> tuple[dict, list]:
    """Lift every pose of the keypoint file ``path``.

    Returns:
        The ``poselift.lift`` document, and the notes for stderr (poses that could not be
        lifted, joints the input lacks).

    Raises:
        ValueError: the file cannot be read, or no pose in it can be lifted.
    """
    from .camera_space import place_root, placement_fields
    from .keypoints import read_keypoints
    from .lifting.choice import lift_diagnostics, lifter_settings

    lifter, camera, prior = model.lifter, model.camera, model.prior
    keypoints = read_keypoints(path, settings.format, settings.joints)
    conversion, weights, target = converted(keypoints, settings, model)
    lifted, todo, done, problems = lift_poses(conversion.points, weights, settings, model, progress)
    if not len(done):
        first = next(i for i, problem in enumerate(problems) if problem)
        raise ValueError(f"{path}: no pose could be lifted; pose {keypoints.labels[first]}: {problems[first]}")
    row = dict(zip(todo[done], range(len(done))))
    roots = None if camera is None else place_root(lifted.pose_3d, conversion.points[todo[done]],
                                                   weights[todo[done]], camera)
    poses = [{"label": label, "lifted": True, "joints_3d_mm": rounded(lifted.pose_3d[row[i]], "mm"),
              "projected_2d_px": rounded(lifted.projected_2d[row[i]], "px"), "weights": rounded(weights[i], "fraction"),
              **lift_diagnostics(lifted, row[i]),
              **placement_fields(None if roots is None else roots[row[i]], lifted.pose_3d[row[i]]),
              **({} if lifted.hypotheses is None else lifted.hypotheses.fields(row[i]))} if i in row else
             {"label": label, "lifted": False, "error": problems[i]} for i, label in enumerate(keypoints.labels)]
    document = {
        **json_header("lift", SCHEMA_VERSION),
        "input": str(path), "input_format": settings.format, "input_joint_set": keypoints.joint_set.name,
        "joint_set": target.name,
        "joint_names": list(target.joints),
        "approximate_joints": list(conversion.approximate), "missing_joints": list(conversion.missing),
        "frame": "3D in mm relative to the pelvis; x right, y up, z towards the camera",
        **lifter_settings(lifter),
        "perspective_correction": camera is not None and (not settings.learned_only or lifter.answer_frame == "ray"),
        "camera": None if camera is None else camera.describe(),
        "prior": None if prior is None else prior.describe(),
        "options": settings.options(),
        "poses": poses,
    }
    notes = []
    failed = [i for i, problem in enumerate(problems) if problem]
    if failed:
        notes.append(f"poselift: {path}: {len(failed)} of {len(problems)} pose(s) could not be lifted and are "
                     f"marked so; the first, pose {keypoints.labels[failed[0]]}: {problems[failed[0]]}")
    if conversion.missing:
        notes.append(f"note: {keypoints.joint_set.name} lacks {', '.join(conversion.missing)}: filled in by the "
                     f"{'learned lifter' if settings.learned_only else 'prior'}")
    return document, notes


def converted(keypoints, settings: LiftSettings, model: LiftModel):
    """The :class:`~poselift.keypoints.Keypoints` in the lifter's joint set (the prior's, or
    H36M-17 for the learned lifter) and their lifting weights (approximate joints weighted by
    ``settings.approximate_weight``): (:class:`~poselift.skeleton.Conversion`, (n, L) weights,
    the joint set)."""
    from .skeleton import H36M17, convert

    target = H36M17 if model.prior is None else model.prior.joint_set
    conversion = convert(keypoints.points, keypoints.joint_set, target, keypoints.weights)
    weights = conversion.weights.copy()
    for name in conversion.approximate:
        weights[..., target.index(name)] *= settings.approximate_weight
    return conversion, weights, target


def lift_poses(points: np.ndarray, weights: np.ndarray, settings: LiftSettings, model: LiftModel,
               progress: bool = False):
    """Lift (n, L, 2) pixel poses with (n, L) weights as ``settings`` say, in blocks, each pose
    that cannot be lifted failing alone.

    Returns:
        (the lift of the poses lifted, the indices (k,) of the poses tried, the positions (m,)
        among those of the poses lifted, per pose None or why it could not be lifted): pose
        ``todo[done[r]]`` is row ``r`` of the lift.
    """
    lifter, camera = model.lifter, model.camera

    def lift(points, w):
        several = {} if settings.hypotheses is None else {"hypotheses": settings.hypotheses}
        if camera is None:
            return lifter.lift(points, w, settings.height_mm, **several)
        if settings.learned_only:  # the camera turns the network's answer from the ray's frame
            return lifter.lift(points, w, settings.height_mm, camera=(settings.focal_px, settings.principal_px))
        return lifter.lift_perspective(points, settings.focal_px, settings.principal_px, w,
                                       height_mm=settings.height_mm, **several)

    problems = lifter.problems(points, weights)
    todo = np.flatnonzero([problem is None for problem in problems])
    lifted, done, block_problems = _lift_in_blocks(lift, points[todo], weights[todo], progress)
    for i, problem in zip(todo, block_problems):
        problems[i] = problem
    return lifted, todo, done, problems


def lift_task(job: LiftJob, settings: LiftSettings) -> Row:
    """One file of a run (:func:`~poselift.batch.engine.run_jobs`): its document written to
    ``job.out``; its failure a row (:func:`~poselift.batch.engine.task_row`), never an exception."""
    model = model_for(settings)

    def work() -> tuple[str, int]:
        document, _ = lift_document(job.path, settings, model)
        write_json(job.out, document)
        return "ok", sum(pose["lifted"] for pose in document["poses"])

    return task_row(job.path, work)


def finished_poses(job: LiftJob, settings: LiftSettings, model: LiftModel) -> int | None:
    """The poses lifted in ``job.out`` if an earlier run left it complete for these settings
    (parsed: this input, the same lifter, prior, camera and options); None: to be done."""
    from .lifting.choice import lifter_settings

    try:
        document = json.loads(job.out.read_bytes())
        same = (document.get("format") == "poselift.lift" and document.get("version") == SCHEMA_VERSION
                and document.get("input") == str(job.path) and document.get("input_format") == settings.format
                and document.get("options") == settings.options()
                and document.get("camera") == (None if model.camera is None else model.camera.describe())
                and document.get("prior") == (None if model.prior is None else model.prior.describe())
                and all(document.get(k) == v for k, v in lifter_settings(model.lifter).items()))
        return sum(bool(pose["lifted"]) for pose in document["poses"]) if same else None
    except (OSError, ValueError, TypeError, KeyError):
        return None


def output_paths(files: list[Path], out_dir: Path) -> list[Path]:
    """Each keypoint file's JSON in ``out_dir``: ``<stem>.json``, with ``-2``, ``-3`` ... where a
    name is taken or would be one of the inputs themselves."""
    inputs = {f.resolve() for f in files}
    taken: set[Path] = set()
    outs = []
    for f in files:
        name, count = f.stem, 1
        while (out_dir / f"{name}.json") in taken or (out_dir / f"{name}.json").resolve() in inputs:
            count += 1
            name = f"{f.stem}-{count}"
        taken.add(out_dir / f"{name}.json")
        outs.append(out_dir / f"{name}.json")
    return outs


def _lift_in_blocks(lift, points: np.ndarray, weights: np.ndarray, progress: bool):
    """``lift(points, weights)`` over blocks of :data:`LIFT_BLOCK` frames, with a progress bar
    (frames per second) on stderr when there is more than one block.

    A block that fails is lifted again pose by pose, so that one pose that cannot be lifted
    (no rotation gives a positive scale) fails alone; so does a pose whose lift is not finite.

    Returns:
        The lift (a :class:`~poselift.lifting.Lifted` or a :class:`~poselift.lifting.learned.LearnedLift`) of the
        poses lifted, their indices (m,) among the (n,) poses given, and per pose given None or why it could
        not be lifted.
    """
    from tqdm import tqdm

    blocks, done, problems = [], [], [None] * len(points)

    def keep(result, indices) -> None:
        finite = np.ones(len(indices), dtype=bool)
        for field in fields(result):
            values = getattr(result, field.name)
            if isinstance(values, np.ndarray):  # not the hypotheses, whose empty slots are NaN
                finite &= np.isfinite(values.reshape(len(indices), -1)).all(axis=1)
        for i in indices[~finite]:
            problems[i] = "the lift gave numbers that are not finite"
        blocks.append(_rows(result, finite))
        done.append(indices[finite])

    with tqdm(total=len(points), desc="lift", unit="frame", file=sys.stderr,
              disable=not progress or len(points) <= LIFT_BLOCK) as bar:
        for start in range(0, len(points), LIFT_BLOCK):
            indices = np.arange(start, min(start + LIFT_BLOCK, len(points)))
            try:
                keep(lift(points[indices], weights[indices]), indices)
            except ValueError:
                for i in indices:
                    try:
                        keep(lift(points[i:i + 1], weights[i:i + 1]), np.array([i]))
                    except ValueError as error:
                        problems[i] = str(error)
            bar.update(len(indices))
    if not blocks:
        return None, np.empty(0, dtype=np.int64), problems
    return _joined(blocks), np.concatenate(done), problems


def _rows(result, index):
    """The rows ``index`` of every array of a lift (a dataclass of arrays, nested dataclasses or None)."""
    if result is None or isinstance(result, np.ndarray):
        return None if result is None else result[index]
    return type(result)(*(_rows(getattr(result, f.name), index) for f in fields(result)))


def _joined(results: list):
    """Lifts (as :func:`_rows` takes them) of consecutive blocks as one."""
    first = results[0]
    if first is None or isinstance(first, np.ndarray):
        return None if first is None else np.concatenate(results)
    return type(first)(*(_joined([getattr(r, f.name) for r in results]) for f in fields(first)))
