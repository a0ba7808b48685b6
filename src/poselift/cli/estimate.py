"""``poselift estimate``: 2D and 3D pose of everyone in photos (section 5) and videos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import (
    DeprecatedAlias,
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
    positive_int,
    smoothing_of,
    writable_output,
)

MAX_ROUNDS = 20
"""Most lift-project-fuse rounds ``--rounds`` takes (each costs one lift; more only cost accuracy on LSP-extended)."""

__all__ = ["add_parser", "add_estimator_options", "build_estimator"]


def add_parser(commands) -> None:
    estimate = commands.add_parser("estimate", help="2D and 3D pose of everyone in photos and videos "
                                                    "(paper section 5)")
    estimate.add_argument("paths", nargs="*", help="photos, videos (.mp4 .avi .mov .mkv .webm .m4v), folders of "
                                                   "them, or glob patterns ('shots/**/*.jpg')")
    estimate.add_argument("--out", default="poselift-output", help="folder for the JSON, JSON lines and PNG files")
    estimate.add_argument("--save-rounds", action="store_true",
                          help="also write each refinement round (JSON, and a figure like the paper's figure 3)")
    estimate.add_argument("--stages", dest="save_rounds", nargs=0, action=DeprecatedAlias, new_name="--save-rounds")
    estimate.add_argument("--max-people", type=positive_int, help="keep at most N people, most prominent first")
    estimate.add_argument("--height-mm", type=finite_float, help="size the 3D poses for a person this tall")
    camera = estimate.add_mutually_exclusive_group()
    camera.add_argument("--focal-px", type=finite_float,
                        help="the camera's focal length in pixels (default: the photo's EXIF, if it says)")
    camera.add_argument("--fov", type=finite_float, metavar="DEGREES", help="the camera's horizontal field of view")
    estimate.add_argument("--no-exif", action="store_true",
                          help="do not read the focal length from the photos' EXIF (without --focal-px or --fov, "
                               "people stay root-relative and are seen along the ray to each)")
    estimate.add_argument("--bvh", action="store_true",
                          help="also write each person's pose as a BVH file (a video: each track's motion)")
    estimate.add_argument("--csv", action="store_true", help="also write a CSV table: one row per person and joint")
    estimate.add_argument("--html", action="store_true",
                          help="also write a 3D viewer: one HTML file per photo that opens offline")
    add_estimator_options(estimate)
    add_hypotheses_option(estimate)
    add_video_options(estimate)
    add_batch_options(estimate)
    estimate.add_argument("--quiet", action="store_true", help="no progress bar")
    estimate.set_defaults(run=run)


def add_video_options(parser: argparse.ArgumentParser) -> None:
    """Options of videos (:mod:`poselift.video`)."""
    from ..video.reading import FRAME_FOLDER_FPS
    from ..video.tracking import DETECT_EVERY

    video = parser.add_argument_group("videos")
    add_smoothing_option(video, default="offline")
    video.add_argument("--detect-every", type=bounded_int(0, 1_000_000), default=DETECT_EVERY, metavar="N",
                       help="look for people entering every N frames (0: only when a track is lost; "
                            f"default {DETECT_EVERY})")
    video.add_argument("--render", action="store_true",
                       help="also write <name>_render.mp4: the frames with 2D skeletons and the 3D ones beside them")
    video.add_argument("--frames", action="store_true",
                       help="each folder named is one video: its numbered frames, in the order of their numbers")
    video.add_argument("--fps", type=positive_float, default=FRAME_FOLDER_FPS,
                       help=f"frame rate of --frames folders (default {FRAME_FOLDER_FPS:g})")


def add_estimator_options(parser: argparse.ArgumentParser) -> None:
    """The photo pipeline's options (:class:`poselift.Estimator`), for ``estimate`` and ``evaluate lsp``."""
    from ..estimator import DEFAULT_FUSION_WEIGHT, DEFAULT_ROUNDS

    parser.add_argument("--rounds", type=bounded_int(0, MAX_ROUNDS), default=DEFAULT_ROUNDS,
                        help=f"lift-project-fuse rounds before the final lift (0 to {MAX_ROUNDS})")
    parser.add_argument("--refine-stages", dest="rounds", type=bounded_int(0, MAX_ROUNDS), action=DeprecatedAlias,
                        new_name="--rounds")
    parser.add_argument("--fusion-weight", type=fraction, default=DEFAULT_FUSION_WEIGHT,
                        help="w of eq. 7: the share of the CNN's belief in each fused map")
    parser.add_argument("--fast", action="store_true", help="fewer network runs, a little less accurate")
    parser.add_argument("--learned-stages", nargs="?", const=True, metavar="STAGES_PT",
                        help="run the stages trained on top of BlazePose first: the shipped ones, or a "
                             "stages.pt of poselift train")
    add_prior_option(parser)
    add_lifter_options(parser)


def estimator_spec(args: argparse.Namespace, height_mm: float | None = None, threads: int = 2):
    """The :class:`~poselift.estimate_output.EstimatorSpec` of the options of
    :func:`add_estimator_options` (and ``--hypotheses`` where the command has it), sizing
    people ``height_mm`` tall (default: the prior's mean size)."""
    from ..estimate_output import EstimatorSpec

    weights = lifter_weights(args)
    return EstimatorSpec(prior=args.prior, rounds=args.rounds, fusion_weight=args.fusion_weight, height_mm=height_mm,
                         fast=args.fast, learned_stages=args.learned_stages, lifter=args.lifter,
                         lifter_weights=None if weights is None else str(weights), threads=threads,
                         hypotheses=getattr(args, "hypotheses", None))


def build_estimator(args: argparse.Namespace, height_mm: float | None = None):
    """The :class:`poselift.Estimator` of the options of :func:`add_estimator_options`."""
    return estimator_spec(args, height_mm).build()


def run(args: argparse.Namespace) -> int:
    from ..batch.inputs import expand_inputs
    from ..camera_space import PhotoCameras
    from ..estimate_output import EXPORTS, EstimateReport, estimate_files
    from ..video.job import is_video

    cluster = batch_cluster(args)
    files = expand_inputs(args.paths, _frame_folders if args.frames else _photos_and_videos, args.list)
    videos = [f for f in files if is_video(f, args.frames)]
    photos = [f for f in files if not is_video(f, args.frames)]
    summary = writable_output(Path(args.summary)) if args.summary else None
    spec = estimator_spec(args, args.height_mm, threads=2 if cluster.local else 1)
    estimator = spec.build()  # checks the settings before the folder is made
    cameras = PhotoCameras(args.focal_px, args.fov, exif=not args.no_exif)
    exports = frozenset(kind for kind in EXPORTS if getattr(args, kind))
    if videos and (args.csv or args.html or args.save_rounds):
        print("poselift: --csv, --html and --save-rounds apply to photos; videos get their JSON lines "
              "(and --render, --bvh)", file=sys.stderr)
    out_dir = output_folder(args.out)
    report = EstimateReport()
    try:
        if photos:
            estimate_files(photos, out_dir, estimator, max_people=args.max_people, save_rounds=args.save_rounds,
                           progress=not args.quiet, cameras=cameras, exports=exports, cluster=cluster, spec=spec,
                           overwrite=args.overwrite, report=report)
        if videos:
            _estimate_videos(videos, photos, out_dir, estimator, args, cameras, report)
    finally:  # also when stopped or interrupted: the summary of what was done
        finish_batch(report.rows, summary, len(files))
    if report.failed or report.nobody:
        print(f"poselift: {len(report.failed)} of {len(files)} file(s) failed, "
              f"{len(report.nobody)} had nobody in them", file=sys.stderr)
    return 0 if report.ok else 1


def _photos_and_videos(paths: list) -> list[Path]:
    """Files as named, and each folder's photos and videos."""
    from ..batch.inputs import files_and_folders
    from ..images import IMAGE_SUFFIXES, ImageError
    from ..video.reading import VIDEO_SUFFIXES

    return files_and_folders(paths, IMAGE_SUFFIXES + VIDEO_SUFFIXES, "the folder holds no photos or videos",
                             ImageError)


def _frame_folders(paths: list) -> list[Path]:
    """``--frames``: every path a folder of frames."""
    from ..video.reading import VideoError

    for path in map(Path, paths):
        if not path.is_dir():
            raise VideoError(f"{path}: --frames takes folders of numbered frames; this is not a folder")
    return [Path(p) for p in paths]


def _estimate_videos(videos: list[Path], photos: list[Path], out_dir: Path, estimator, args, cameras,
                     report) -> None:
    """Each video in this process, one after the other (a cluster runs the photos only)."""
    from ..batch.summary import Row
    from ..estimate_output import estimator_settings, output_names
    from ..video.job import VideoOptions, estimate_video_file, finished_video, video_outputs

    options = VideoOptions(smoothing_of(args), args.detect_every, args.max_people, args.render, args.fps, args.bvh,
                           cameras)
    taken = {p.resolve() for outputs in output_names(photos, out_dir) for p in outputs.paths()}
    settings = estimator_settings(estimator)
    for video, outputs in zip(videos, video_outputs(videos, out_dir, taken)):
        tracks = None if args.overwrite else finished_video(outputs, video, settings, options)
        if tracks is not None:
            print(f"skipping {video}: its outputs are complete (--overwrite redoes it)")
            report.rows.append(Row(str(video), "skipped", tracks, 0.0))
            continue
        row = estimate_video_file(video, outputs, estimator, settings, options, frame_folder=args.frames,
                                  progress=not args.quiet)
        report.rows.append(row)
        if row.status == "failed":
            report.failed.append((video, row.error))
            print(f"poselift: {row.error}", file=sys.stderr)
        elif row.status == "nobody":
            report.nobody.append(video)
            print(f"poselift: {video}: nobody found", file=sys.stderr)
