"""``poselift estimate``'s outputs: per photo one JSON document and one PNG, bad files skipped.

The JSON document (``poselift.estimate``, version :data:`SCHEMA_VERSION`; every field is
described in ``docs/output-format.md``)::

    {"format": "poselift.estimate", "version": 3,
     "image": {"path": str, "width": px, "height": px},
     "joint_names": [17 H36M names], "bones": [[child, parent], ...],
     "blazepose_joint_names": [33 names],
     "settings": {"rounds": T, "fusion_weight": w, "sigma_cells": s, "height_mm": h|null, "fast": bool,
                  "prior": str, "learned_stages": path|null},
     "people": [{
        "score": detector score x presence, "box": [x0, y0, x1, y1] px,
        "joints_2d": [[x, y] px] * 17, "confidence": [0..1] * 17,
        "source": ["detected" | "derived" | "model"] * 17,
        "joints_3d_mm": [[x, y, z]] * 17   (root-relative; y up, x right, z towards the camera),
        "angle_deg": ground-plane rotation, "component": mixture component,
        "residual_px2": weighted squared 2D error of the fit, "scale_px_per_unit": s of eq. 4,
        "blazepose_33": {"joints_2d": [[x, y]] * 33, "visibility": [..] * 33},
        "rounds": [{"joints_2d": [[x, y]] * 17, "projected_2d": [[x, y]] * 17}, ...]  (with --save-rounds)
     }, ...]}

Pixels are those of the photo as a viewer shows it (EXIF orientation applied), x right,
y down, whatever size the photo has. Numbers are rounded by :func:`poselift.files.rounded`.
"""

from __future__ import annotations

import glob
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .batch.engine import Cluster, keep_model, model_for, run_jobs, task_row
from .batch.summary import Row
from .camera_space import Camera, PhotoCameras, place_root, placement_fields
from .estimator import DEFAULT_FUSION_WEIGHT, DEFAULT_ROUNDS, MAX_WORKING_SIDE, Estimator
from .files import json_header, raise_if_shared, remove_temporaries, rounded, write_json
from .images import Photo, read_photo
from .lifting.choice import DEFAULT_LIFTER, lift_diagnostics, lifter_settings
from .lifting.hypotheses import check_request
from .skeleton import BLAZEPOSE33, H36M17

__all__ = ["SCHEMA_VERSION", "EXPORTS", "EstimateReport", "Outputs", "estimate_files", "document", "output_names"]

SCHEMA_VERSION = 3
"""Version 3: with a camera, ``joints_3d_mm`` and the hypotheses are as that camera sees each
person (version 2: as seen along the ray to the person)."""

EXPORTS = ("bvh", "csv", "html")
"""Files ``estimate`` writes on request beside each photo's JSON and PNG."""


@dataclass
class EstimateReport:
    """What a run over photos did: outputs written, photos with nobody, files that failed (with
    why), and a :class:`~poselift.batch.summary.Row` per photo (skipped ones too)."""

    written: list[tuple[Path, Path]] = field(default_factory=list)
    nobody: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.nobody and not self.failed


def document(path: Path, image_shape: tuple[int, ...], people, estimator, save_rounds: bool,
             camera: Camera | None = None, run: dict | None = None) -> dict:
    """The JSON document for one photo (see the module docstring); with a ``camera``, each
    person's root and joints in camera coordinates (:func:`~poselift.camera_space.place_root`);
    ``run``: the output options it was written with (:meth:`OutputOptions.describe`)."""
    out = {
        **json_header("estimate", SCHEMA_VERSION),
        "image": {"path": str(path), "width": int(image_shape[1]), "height": int(image_shape[0])},
        "joint_names": list(H36M17.joints), "bones": H36M17.bones.tolist(),
        "blazepose_joint_names": list(BLAZEPOSE33.joints),
        "settings": estimator_settings(estimator),
        "run": run,
        "camera": None if camera is None else camera.describe(),
        "people": [],
    }
    for person in people:
        entry = {
            "score": rounded(person.score, "fraction"), "box": rounded(person.box, "px"),
            "joints_2d": rounded(person.joints_2d, "px"), "confidence": rounded(person.confidence, "fraction"),
            "source": list(person.source), "joints_3d_mm": rounded(person.pose_3d, "mm"),
            **lift_diagnostics(person.lifted),
            **_camera_space(person, camera),
            **({} if person.lifted.hypotheses is None else person.lifted.hypotheses.fields()),
        }
        if person.detector is not None:
            entry["blazepose_33"] = {"joints_2d": rounded(person.detector.keypoints_2d, "px"),
                                     "visibility": rounded(person.detector.visibility, "fraction")}
        if save_rounds:
            entry["rounds"] = [{"joints_2d": rounded(r.joints_2d, "px"), "projected_2d": rounded(r.projected_2d, "px")}
                               for r in person.rounds]
        out["people"].append(entry)
    return out


def estimator_settings(estimator) -> dict:
    """The estimate JSON's ``settings``: what the estimator was built with."""
    return {"rounds": estimator.rounds, "fusion_weight": estimator.fusion_weight, "sigma_cells": estimator.sigma,
            "height_mm": estimator.height_mm, "fast": estimator.fast, "prior": estimator.prior.describe(),
            "learned_stages": estimator.learned_path, **lifter_settings(estimator.lifter),
            "hypotheses": estimator.hypotheses}


def _camera_space(person, camera: Camera | None) -> dict:
    """``root_camera_mm`` and ``joints_camera_mm`` of a person, None without a camera."""
    root = None if camera is None else place_root(person.pose_3d, person.joints_2d, person.confidence, camera)
    return placement_fields(root, person.pose_3d)


@dataclass(frozen=True)
class Outputs:
    """Where one photo's results go: ``<name>.json``, ``<name>.png``, with rounds ``<name>_rounds.png``,
    and the exports asked for: ``<name>.csv``, ``<name>.html``, ``<name>_person<k>.bvh``."""

    json: Path
    png: Path
    rounds_png: Path

    @classmethod
    def named(cls, out_dir: Path, name: str) -> "Outputs":
        return cls(out_dir / f"{name}.json", out_dir / f"{name}.png", out_dir / f"{name}_rounds.png")

    def paths(self) -> tuple[Path, Path, Path]:
        """The outputs whose names could be a photo's (the exports' suffixes are never a photo's)."""
        return self.json, self.png, self.rounds_png

    @property
    def csv(self) -> Path:
        return self.json.with_suffix(".csv")

    @property
    def html(self) -> Path:
        return self.json.with_suffix(".html")

    def bvh(self, person: int) -> Path:
        """Person ``person``'s (1, 2 ...) BVH file."""
        return self.json.with_name(f"{self.json.stem}_person{person}.bvh")

    def stale_bvh(self) -> list[Path]:
        """BVH files an earlier run wrote for this photo."""
        return [p for p in self.json.parent.glob(f"{glob.escape(self.json.stem)}_person*.bvh")
                if p.stem[len(self.json.stem) + len("_person"):].isdigit()]


def output_names(files: list[Path], out_dir: Path) -> list[Outputs]:
    """Each photo's own :class:`Outputs` in ``out_dir``, made deterministically from the list of photos.

    The name is the photo's stem (``a.jpg`` -> ``a.json``, ``a.png``); where photos of one
    stem differ in the extension (``a.jpg`` and ``a.png``), their file names with it
    (``a.jpg.json``, ``a.png.json``); where a name is still taken (the same file name in two
    folders), or one of its outputs would be another output or any input photo itself,
    ``-2``, ``-3`` ... is added, in the photos' order. So no output overwrites another or a photo.
    """
    names_of_stem: dict[str, set[str]] = {}
    for f in files:
        names_of_stem.setdefault(f.stem, set()).add(f.name)
    inputs = {f.resolve() for f in files}
    taken: set[Path] = set()
    outputs = []
    for f in files:
        base = f.stem if len(names_of_stem[f.stem]) == 1 else f.name
        name, count = base, 1
        while any(p in taken or p.resolve() in inputs for p in Outputs.named(out_dir, name).paths()):
            count += 1
            name = f"{base}-{count}"
        chosen = Outputs.named(out_dir, name)
        taken.update(chosen.paths())
        outputs.append(chosen)
    return outputs


@dataclass(frozen=True)
class OutputOptions:
    """What to write for each photo: see :func:`estimate_files`."""

    max_people: int | None = None
    save_rounds: bool = False
    cameras: PhotoCameras = field(default_factory=PhotoCameras)
    exports: frozenset[str] = frozenset()

    def describe(self) -> dict:
        """The options as the JSON records them (``"run"``), by which a rerun knows a finished photo."""
        return {"max_people": self.max_people, "save_rounds": self.save_rounds,
                "focal_px": self.cameras.focal_px, "fov_deg": self.cameras.fov_deg, "exif": self.cameras.exif,
                "exports": sorted(self.exports)}


@dataclass(frozen=True)
class EstimatorSpec:
    """How to build an :class:`~poselift.estimator.Estimator` (its arguments, the prior by path):
    hashable, so that a Dask worker builds it once for a whole run."""

    prior: str | None = None
    rounds: int = DEFAULT_ROUNDS
    fusion_weight: float = DEFAULT_FUSION_WEIGHT
    height_mm: float | None = None
    fast: bool = False
    learned_stages: str | bool | None = None
    lifter: str = DEFAULT_LIFTER
    lifter_weights: str | None = None
    threads: int = 2
    hypotheses: int | None = None

    def __post_init__(self) -> None:
        check_request(self.hypotheses, self.lifter)  # before any photo, also where workers build the estimator

    def build(self):
        from .prior.model import PosePrior

        return Estimator(PosePrior.load(self.prior) if self.prior else PosePrior.default(), rounds=self.rounds,
                         fusion_weight=self.fusion_weight, height_mm=self.height_mm, fast=self.fast,
                         learned_stages=self.learned_stages, lifter=self.lifter, lifter_weights=self.lifter_weights,
                         threads=self.threads, hypotheses=self.hypotheses)


@dataclass(frozen=True)
class EstimateSettings:
    """A run's settings as its tasks see them: the outputs, and how to build the estimator
    (None: the estimator kept in this process, :func:`~poselift.batch.engine.keep_model`)."""

    options: OutputOptions
    estimator: EstimatorSpec | None = None

    def build(self):
        if self.estimator is None:
            raise RuntimeError("no estimator was kept for this run, and none can be built here")
        return self.estimator.build()


@dataclass(frozen=True)
class EstimateJob:
    """One photo and where its outputs go."""

    path: Path
    outputs: Outputs


def estimate_one(job: EstimateJob, estimator, options: OutputOptions) -> int:
    """Estimate one photo and write its outputs (see :func:`estimate_files`); returns the number
    of people. Raises whatever reading, estimating or writing raised."""
    photo = read_photo(job.path, longest=MAX_WORKING_SIDE)
    camera = options.cameras.for_photo(photo.width, photo.height, photo.focal_35mm)
    people = estimator.estimate(photo.pixels, max_people=options.max_people, pixel_scale=photo.scale, camera=camera)
    payload = document(job.path, (photo.height, photo.width), people, estimator, options.save_rounds, camera,
                       options.describe())
    _write_outputs(job.outputs, photo, people, payload, options.save_rounds, options.exports)
    return len(people)


def estimate_task(job: EstimateJob, settings: EstimateSettings) -> Row:
    """:func:`estimate_one` as a task of :func:`~poselift.batch.engine.run_jobs`: its failure is
    a row (:func:`~poselift.batch.engine.task_row`), never an exception."""
    estimator = model_for(settings)

    def work() -> tuple[str, int]:
        people = estimate_one(job, estimator, settings.options)
        return ("ok" if people else "nobody"), people

    return task_row(job.path, work)


def finished_people(job: EstimateJob, settings: dict, options: OutputOptions) -> int | None:
    """The number of people in ``job``'s outputs if an earlier run left them complete and valid
    for these ``settings`` (the JSON's) and ``options``: the JSON parses as this photo's
    estimate with the same settings and output options, and every other output asked for is
    there, written by this version of the format. None: the photo is to be done."""
    from .export.result import result_from_document

    try:
        payload = json.loads(job.outputs.json.read_bytes())
        result = result_from_document(payload, str(job.outputs.json))
    except (OSError, ValueError):
        return None
    if (result.image_path != str(job.path) or payload.get("version") != SCHEMA_VERSION
            or payload.get("settings") != settings or payload.get("run") != options.describe()):
        return None
    people = result.people_count
    needed = [job.outputs.png]
    if options.save_rounds and people:
        needed.append(job.outputs.rounds_png)
    needed += [getattr(job.outputs, kind) for kind in ("csv", "html") if kind in options.exports]
    if "bvh" in options.exports:
        needed += [job.outputs.bvh(k) for k in range(1, people + 1)]
    return people if all(path.is_file() and path.stat().st_size > 0 for path in needed) else None


def estimate_files(files: list[Path], out_dir: Path, estimator, max_people: int | None = None,
                   save_rounds: bool = False, progress: bool = True, cameras: PhotoCameras | None = None,
                   exports: frozenset[str] = frozenset(), cluster: Cluster | None = None,
                   spec: EstimatorSpec | None = None, overwrite: bool = True,
                   report: EstimateReport | None = None) -> EstimateReport:
    """Estimate every photo in ``files``, writing each one's :class:`Outputs` (:func:`output_names`) into ``out_dir``.

    Each photo is reported on stdout as soon as its outputs are written. Any failure of one
    photo (unreadable, corrupt, or an error of any kind) is that photo's: it is reported on
    stderr and the run goes on; only outputs that cannot be written at all (a full disk, an
    unwritable folder: :class:`~poselift.files.OutputError`) stop the run, with
    :class:`~poselift.batch.engine.StopRun`. A photo with nobody in it gets its JSON (with an
    empty list of people) and PNG, and is reported too. With ``save_rounds``, the JSON has
    each refinement round's 2D joints and ``<name>_rounds.png`` shows the beliefs of each
    round (like the paper's figure 3).

    Every file is written atomically, the JSON last: a photo's JSON exists only when all its
    outputs do. If the run is interrupted (Ctrl-C, SIGTERM) while a photo's outputs are
    written, those written are removed again, so each photo's outputs are complete or absent.

    ``cameras`` gives each photo's camera (a focal length for all, or, by default, the photo's
    EXIF), for the people's places in camera space; ``exports`` names the other files to write
    (:data:`EXPORTS`): ``<name>.csv``, ``<name>.html`` (:mod:`poselift.export`) and
    ``<name>_person<k>.bvh``, one per person (none for a photo with nobody in it).

    ``cluster`` runs the photos on a Dask cluster (:mod:`poselift.batch.engine`) whose workers
    build their estimator from ``spec`` (``estimator`` then only names the settings); the
    default runs them here with ``estimator``. Without ``overwrite``, photos whose outputs an
    earlier run left complete for the same settings are skipped (:func:`finished_people`).
    ``report`` (default: a new one) is filled as photos finish, so that it holds what was done
    when :class:`~poselift.batch.engine.StopRun` or an interruption ends the run.
    """
    from tqdm import tqdm

    cluster = cluster or Cluster()
    options = OutputOptions(max_people, save_rounds, cameras or PhotoCameras(), frozenset(exports))
    if not cluster.local and spec is None:
        raise ValueError("a cluster run needs the estimator's spec, to build it on the workers")
    settings = EstimateSettings(options, None if cluster.local else spec)
    if cluster.local:
        keep_model(settings, estimator)
    report = EstimateReport() if report is None else report
    jobs = [EstimateJob(path, outputs) for path, outputs in zip(files, output_names(files, out_dir))]
    todo = jobs
    if not overwrite:
        expected = estimator_settings(estimator)
        todo = []
        for job in jobs:
            people = finished_people(job, expected, options)
            if people is None:
                todo.append(job)
            else:
                report.rows.append(Row(str(job.path), "skipped", people, 0.0))
        if len(todo) < len(jobs):
            print(f"skipping {len(jobs) - len(todo)} photo(s) whose outputs are complete (--overwrite redoes them)")
    outputs_of = {str(job.path): job.outputs for job in todo}

    def heard(row: Row) -> None:
        report.rows.append(row)
        path, outputs = Path(row.path), outputs_of[row.path]
        if row.status == "failed":
            report.failed.append((path, row.error))
            if not row.fatal:  # a fatal one ends the run, which says why
                tqdm.write(f"poselift: skipped {row.error}", file=sys.stderr)
            return
        report.written.append((outputs.json, outputs.png))
        tqdm.write(f"wrote {outputs.json} and {outputs.png}")
        if row.status == "nobody":
            report.nobody.append(path)
            tqdm.write(f"poselift: {path}: nobody found{'; no BVH written' if 'bvh' in exports else ''}",
                       file=sys.stderr)

    try:
        run_jobs(todo, estimate_task, settings, cluster, heard, progress, unit="photo")
    finally:  # a worker killed while writing leaves a temporary file
        remove_temporaries(out_dir, [f"{job.outputs.json.stem}{end}" for job in todo
                                     for end in (".json.", ".png.", "_rounds.png.", ".csv.", ".html.", "_person")])
    return report


def _write_outputs(outputs: Outputs, photo: Photo, people, payload: dict, save_rounds: bool,
                   exports: frozenset[str]) -> None:
    """One photo's figures and exports, then its JSON (the mark of a finished photo); on any
    failure or interruption, the outputs this call wrote are removed and the error raised again."""
    from .export.bvh import tracks, write_bvh
    from .export.html import write_html
    from .export.result import result_from_document
    from .export.table import write_csv
    from .visualize import estimate_figure, rounds_figure, save_figure

    # The JSON first: from now on the photo is unfinished.
    for stale in (outputs.json, outputs.rounds_png, outputs.csv, outputs.html, *outputs.stale_bvh()):
        if stale.is_file():
            try:
                stale.unlink()
            except OSError as error:
                raise_if_shared(error, stale)
                raise
    started: list[Path] = []  # each path is listed before it is written: a signal may come at any moment
    try:
        started.append(outputs.png)
        save_figure(estimate_figure(photo.pixels, people, H36M17, (photo.width, photo.height)), outputs.png)
        if save_rounds and people:
            started.append(outputs.rounds_png)
            save_figure(rounds_figure(people, H36M17), outputs.rounds_png)
        result = result_from_document(payload, str(outputs.json)) if exports else None
        if "csv" in exports:
            started.append(outputs.csv)
            write_csv(outputs.csv, result)
        if "html" in exports:
            started.append(outputs.html)
            write_html(outputs.html, result, photo_pixels=photo.pixels)
        if "bvh" in exports:
            for number, track in enumerate(tracks(result), 1):
                started.append(outputs.bvh(number))
                write_bvh(outputs.bvh(number), track.positions_mm, track.root_mm)
        started.append(outputs.json)
        write_json(outputs.json, payload)
    except BaseException:
        if outputs.json in started and outputs.json.is_file():  # the JSON got written: the photo is finished
            raise
        for path in started:
            path.unlink(missing_ok=True)
        raise
