"""``poselift lift``: 2D keypoints from files to 3D under the prior (section 5.3), one file or many."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import (
    MAX_ANGLES,
    add_batch_options,
    add_hypotheses_option,
    add_lifter_options,
    add_prior_option,
    add_smoothing_option,
    batch_cluster,
    bounded_int,
    finish_batch,
    finite_float,
    fraction,
    lifter_weights,
    output_folder,
    positive_float,
    smoothing_of,
    writable_output,
)

__all__ = ["add_parser"]


def add_parser(commands) -> None:
    from ..keypoints import FORMATS
    from ..lifting import DEFAULT_ANGLES
    from ..skeleton import JOINT_SETS
    from ..video.reading import FRAME_FOLDER_FPS

    lift = commands.add_parser("lift", help="lift 2D keypoints from files to 3D (paper section 5.3)")
    lift.add_argument("keypoints", nargs="*",
                      help="the keypoint file; or several, folders or glob patterns (then --out is a folder)")
    lift.add_argument("--format", choices=FORMATS, required=True, help="the files' format")
    lift.add_argument("--joints", choices=sorted(JOINT_SETS), default="h36m17", help="joint set of --format npy")
    add_prior_option(lift)
    lift.add_argument("--angles", type=bounded_int(1, MAX_ANGLES), default=DEFAULT_ANGLES,
                      help=f"ground-plane angles searched (1 to {MAX_ANGLES})")
    lift.add_argument("--approximate-weight", type=fraction, default=0.0,
                      help="weight of joints the input only approximates (e.g. a head top from ears)")
    lift.add_argument("--height-mm", type=finite_float,
                      help="the person's height from ankles to head top (default: the training poses' size)")
    lift.add_argument("--focal-px", type=finite_float,
                      help="focal length in pixels: correct for perspective and place each pose in camera space")
    lift.add_argument("--principal-px", type=finite_float, nargs=2, metavar=("X", "Y"),
                      help="principal point in pixels")
    add_lifter_options(lift)
    add_hypotheses_option(lift)
    lift.add_argument("--out", required=True, help="the JSON to write; a folder for a run over several files; "
                                                   "the JSON lines with --sequence")
    sequence = lift.add_argument_group("sequences")
    sequence.add_argument("--sequence", action="store_true",
                          help="the input is one video's keypoints: an OpenPose output folder (one JSON per frame) "
                               "or an array (frames, J, 2|3); people are tracked, their 3D smoothed, and --out is "
                               "JSON lines, one per frame")
    sequence.add_argument("--fps", type=positive_float, default=FRAME_FOLDER_FPS,
                          help=f"frames per second of --sequence (default {FRAME_FOLDER_FPS:g})")
    add_smoothing_option(sequence, default="offline")
    lift.add_argument("--bvh", metavar="FILE", help="also write the poses, frame after frame, as one BVH motion")
    lift.add_argument("--csv", metavar="FILE", help="also write a CSV table: one row per pose and joint")
    lift.add_argument("--html", metavar="FILE", help="also write a 3D viewer: one HTML file that opens offline")
    add_batch_options(lift)
    lift.add_argument("--quiet", action="store_true", help="no progress bar")
    lift.set_defaults(run=run)


def _settings(args: argparse.Namespace):
    from ..lift_output import LiftSettings

    weights = lifter_weights(args)
    settings = LiftSettings(args.format, args.joints, args.prior, args.angles, args.approximate_weight, args.height_mm,
                            args.focal_px, None if args.principal_px is None else tuple(args.principal_px),
                            args.lifter, None if weights is None else str(weights), args.hypotheses)
    settings.check()
    return settings


def _is_run(args: argparse.Namespace, cluster) -> bool:
    """Several files, a folder, a pattern, a list or a cluster: a run, whose --out is a folder."""
    if len(args.keypoints) != 1 or args.list or not cluster.local:
        return True
    path = Path(args.keypoints[0])
    return path.is_dir() or (not path.exists() and bool(set("*?[") & set(args.keypoints[0])))


def run(args: argparse.Namespace) -> int:
    cluster = batch_cluster(args)
    if args.sequence:
        return _run_sequence(args, cluster)
    if _is_run(args, cluster):
        return _run_many(args, cluster)
    return _run_one(args, Path(args.keypoints[0]))


def _run_one(args: argparse.Namespace, path: Path) -> int:
    from ..export import write_exports
    from ..export.result import result_from_document
    from ..files import write_json
    from ..lift_output import lift_document

    out = writable_output(Path(args.out))
    exports = {kind: writable_output(Path(p)) for kind, p in
               (("bvh", args.bvh), ("csv", args.csv), ("html", args.html)) if p is not None}
    taken = [out, *exports.values()]
    if len({p.resolve() for p in taken}) < len(taken):
        raise ValueError("--out, --bvh, --csv and --html must name different files")
    settings = _settings(args)
    document, notes = lift_document(path, settings, settings.build(), progress=not args.quiet)
    write_exports(result_from_document(document, str(out)), exports)
    write_json(out, document)
    lifted = sum(pose["lifted"] for pose in document["poses"])
    print(f"lifted {lifted} pose(s) from {path}; wrote {', '.join(map(str, [*exports.values(), out]))}")
    for note in notes:
        print(note, file=sys.stderr)
    return 0


def _run_sequence(args: argparse.Namespace, cluster) -> int:
    from ..files import write_atomically
    from ..video.sequences import lift_sequence

    if len(args.keypoints) != 1 or args.list or not cluster.local:
        raise ValueError("--sequence lifts one input (a folder of OpenPose frames or one array file), in this process")
    if args.bvh or args.csv or args.html or args.summary:
        raise ValueError("--sequence writes JSON lines only (no --bvh, --csv, --html or --summary)")
    out = writable_output(Path(args.out))
    settings = _settings(args)
    counts = {}

    def write(tmp: str) -> None:
        counts["frames"], counts["tracks"], counts["notes"] = lift_sequence(
            Path(args.keypoints[0]), Path(tmp), settings, settings.build(), smoothing_of(args), args.fps,
            progress=not args.quiet)

    write_atomically(out, write)
    print(f"lifted {counts['frames']} frame(s), {counts['tracks']} track(s) from {args.keypoints[0]}; wrote {out}")
    for note in counts["notes"]:
        print(note, file=sys.stderr)
    return 0


def _run_many(args: argparse.Namespace, cluster) -> int:
    from ..batch.engine import keep_model, run_jobs
    from ..batch.inputs import expand_inputs, files_and_folders
    from ..batch.summary import Row
    from ..files import remove_temporaries
    from ..lift_output import KEYPOINT_SUFFIXES, LiftJob, finished_poses, lift_task, output_paths

    if args.bvh or args.csv or args.html:
        raise ValueError("--bvh, --csv and --html export one file's poses; for a run over several files, "
                         "use poselift view on each result")
    settings = _settings(args)
    suffixes = KEYPOINT_SUFFIXES[args.format]
    files = expand_inputs(args.keypoints, lambda paths: files_and_folders(
        paths, suffixes, f"the folder holds no {' or '.join(suffixes)} files"), args.list)
    summary = writable_output(Path(args.summary)) if args.summary else None
    model = settings.build()  # checks the lifter and prior before the folder is made
    out_dir = output_folder(args.out)
    jobs = [LiftJob(path, out) for path, out in zip(files, output_paths(files, out_dir))]
    rows: list[Row] = []
    if not args.overwrite:
        finished = {job: finished_poses(job, settings, model) for job in jobs}
        rows = [Row(str(job.path), "skipped", poses, 0.0) for job, poses in finished.items() if poses is not None]
        jobs = [job for job in jobs if finished[job] is None]
        if rows:
            print(f"skipping {len(rows)} file(s) whose outputs are complete (--overwrite redoes them)")
    if cluster.local:
        keep_model(settings, model)

    def heard(row: Row) -> None:
        rows.append(row)
        if row.status == "failed" and not row.fatal:  # a fatal one ends the run, which says why
            print(f"poselift: skipped {row.error}", file=sys.stderr)

    try:
        run_jobs(jobs, lift_task, settings, cluster, heard, progress=not args.quiet, unit="file")
    finally:  # also when stopped or interrupted: no temporary file a killed worker left, the summary
        remove_temporaries(out_dir, [f"{job.out.name}." for job in jobs])
        finish_batch(rows, summary, len(files))
    failed = sum(row.status == "failed" for row in rows)
    return 1 if failed else 0

