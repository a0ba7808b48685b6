"""The ``poselift`` command line.

Every command reports a bad input as ``poselift: <what is wrong>`` on stderr with exit
status 1 (2 for a malformed command line); ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

import numpy as np

from .files import write_atomically

__all__ = ["main"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def _writable_output(path: Path) -> Path:
    """Fail before any work if ``path`` cannot be written (missing folder, no permission)."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"{parent}: output folder does not exist")
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"{parent}: output folder is not writable")
    return path


def _write_json(path: Path, payload: dict) -> None:
    """Write JSON atomically (no half-written file if anything fails)."""
    write_atomically(path, lambda tmp: Path(tmp).write_text(json.dumps(payload, indent=1)))


def _load_prior(path: str | None):
    from .prior.model import PosePrior

    return PosePrior.load(path) if path else PosePrior.default()


# ---- lift ----------------------------------------------------------------------------
LIFT_SCHEMA_VERSION = 1
LIFT_BLOCK = 2048  # frames lifted at a time, so that long files show progress


def _lift_in_blocks(lift, points: np.ndarray, weights: np.ndarray, progress: bool):
    """``lift(points, weights)`` over blocks of :data:`LIFT_BLOCK` frames, with a progress
    bar (frames per second) on stderr when there is more than one block."""
    from dataclasses import fields

    from tqdm import tqdm

    from .lifting import Lifted

    blocks = []
    with tqdm(total=len(points), desc="lift", unit="frame", file=sys.stderr,
              disable=not progress or len(points) <= LIFT_BLOCK) as bar:
        for start in range(0, len(points), LIFT_BLOCK):
            blocks.append(lift(points[start:start + LIFT_BLOCK], weights[start:start + LIFT_BLOCK]))
            bar.update(len(blocks[-1].angle))
    return Lifted(*(np.concatenate([getattr(block, field.name) for block in blocks]) for field in fields(Lifted)))


def _lift(args: argparse.Namespace) -> int:
    from .keypoints import read_keypoints
    from .lifting import Lifter
    from .skeleton import convert

    out = _writable_output(Path(args.out))
    keypoints = read_keypoints(args.keypoints, args.format, args.joints)
    prior = _load_prior(args.prior)
    conversion = convert(keypoints.points, keypoints.joint_set, prior.joint_set, keypoints.weights)
    weights = conversion.weights.copy()
    for name in conversion.approximate:
        weights[:, prior.joint_set.index(name)] *= args.approximate_weight
    lifter = Lifter(prior, angles=args.angles)
    if args.focal_px is None:
        def lift(points, w):
            return lifter.lift(points, w, args.height_mm)
    else:
        if args.principal_px is None:
            raise ValueError("--focal-px needs --principal-px X Y (the principal point, often the image centre)")

        def lift(points, w):
            return lifter.lift_perspective(points, args.focal_px, args.principal_px, w, height_mm=args.height_mm)
    lifted = _lift_in_blocks(lift, conversion.points, weights, progress=not args.quiet)
    poses = []
    for i, label in enumerate(keypoints.labels):
        poses.append({
            "label": label,
            "joints_3d_mm": np.round(lifted.pose_3d[i], 2).tolist(),
            "projected_2d_px": np.round(lifted.projected_2d[i], 2).tolist(),
            "weights": np.round(weights[i], 4).tolist(),
            "angle_deg": round(float(np.degrees(lifted.angle[i])), 3),
            "component": int(lifted.component[i]),
            "scale_px_per_unit": float(lifted.scale[i]),
            "residual_px2": float(lifted.residual[i]),
        })
    _write_json(out, {
        "format": "poselift-lift", "version": LIFT_SCHEMA_VERSION,
        "input": str(args.keypoints), "input_format": args.format, "input_joint_set": keypoints.joint_set,
        "joint_set": prior.joint_set.name,
        "joint_names": list(prior.joint_set.joints),
        "approximate_joints": list(conversion.approximate), "missing_joints": list(conversion.missing),
        "frame": "3D in mm relative to the pelvis; x right, y up, z towards the camera",
        "perspective_correction": args.focal_px is not None,
        "prior": prior.describe(), "poses": poses,
    })
    print(f"lifted {len(poses)} pose(s) from {args.keypoints}; wrote {out}")
    if conversion.missing:
        print(f"note: {keypoints.joint_set} lacks {', '.join(conversion.missing)}: filled in by the prior",
              file=sys.stderr)
    return 0


# ---- estimate ------------------------------------------------------------------------
def _estimate(args: argparse.Namespace) -> int:
    from .batch import estimate_files
    from .estimator import Estimator
    from .images import list_images

    files = list_images(args.paths)
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir}: exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    _writable_output(out_dir / "probe")
    estimator = Estimator(_load_prior(args.prior), stages=args.refine_stages, fusion_weight=args.fusion_weight,
                          height_mm=args.height_mm, fast=args.fast, learned_stages=args.learned_stages)
    report = estimate_files(files, out_dir, estimator, max_people=args.max_people, stages=args.stages,
                            progress=not args.quiet)
    for json_path, png_path in report.written:
        print(f"wrote {json_path} and {png_path}")
    if report.failed or report.nobody:
        print(f"poselift: {len(report.failed)} of {len(files)} file(s) failed, "
              f"{len(report.nobody)} had nobody in them", file=sys.stderr)
    return 0 if report.ok else 1


# ---- train ---------------------------------------------------------------------------
def _training_sets(settings, data_dir: Path, cache: str | None, progress: bool) -> tuple:
    """The configuration's training and held-out datasets, the labels' joint set (cpm) and
    the joints no training label marks."""
    from .training.models import unlabelled_joints
    from .training.split import split_held_out

    if settings.config == "cpm":
        from .training import PhotoCrops, lsp_photos

        training, held_out = split_held_out(lsp_photos(data_dir))
        return (PhotoCrops(training, settings.input_size, augment=True, flip=settings.flip, seed=settings.seed),
                PhotoCrops(held_out, settings.input_size), training.joint_set,
                unlabelled_joints(training.joint_set.joints, training.labelled))
    from .detectors import BlazePose
    from .estimator import DIRECT_JOINTS
    from .training import ExampleDataset
    from .training.split import default_cache, lsp_examples

    examples = lsp_examples(data_dir, Path(cache) if cache else default_cache(), BlazePose, progress)
    training, held_out = split_held_out(examples)
    return (ExampleDataset(training, flip=settings.flip, seed=settings.seed), ExampleDataset(held_out), None,
            unlabelled_joints(DIRECT_JOINTS, training.mask))


def _train(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from .datasets.paths import data_root
    from .training import TrainSettings, evaluate_stages, load_stages, train
    from .training.split import HELD_OUT_FROM

    settings = TrainSettings.defaults(
        args.config, stages=args.stages, lifting=args.lifting, width=args.width, kernel=args.kernel,
        depth=args.depth, input_size=args.input_size, flip=args.flip, epochs=args.epochs,
        batch_size=args.batch_size, optimizer=args.optimizer, learning_rate=args.lr, momentum=args.momentum,
        fusion_lr_factor=args.fusion_lr_factor, seed=args.seed)
    settings.check()
    if args.workers < 0:
        raise ValueError(f"--workers must be 0 or more, got {args.workers}")
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir}: exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    _writable_output(out_dir / "probe")
    prior = _load_prior(args.prior)
    train_set, held_set, joint_set, settings.unlabelled_joints = _training_sets(
        settings, Path(args.data) if args.data else data_root(), args.cache, not args.quiet)
    passed = f"; never labelled, passed through: {', '.join(settings.unlabelled_joints)}" \
        if settings.unlabelled_joints else ""
    print(f"poselift: training {settings.config} on {len(train_set)} people, {len(held_set)} held out{passed}",
          file=sys.stderr)
    _, log = train(train_set, prior, settings, out_dir, resume=args.resume, progress=not args.quiet,
                   joint_set=joint_set, held_out=held_set, device=args.device, workers=args.workers)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun, rank 0 writes the files and the table
    last = log[-1]
    if "held_out_pixel_error" in last:  # the final weights, evaluated after the last epoch
        result = {"examples": len(held_set), "pck": last["held_out_pck"], "pixel_error": last["held_out_pixel_error"]}
    else:  # a checkpoint from before the log held pixel errors
        result = evaluate_stages(load_stages(out_dir / "stages.pt", prior), held_set, workers=args.workers)
    result.update(settings=asdict(settings), held_out=f"LSP im{HELD_OUT_FROM:04d}-im1000", log=log)
    _write_json(out_dir / "evaluation.json", result)
    first = " (BlazePose)" if settings.config == "blazepose" else ""
    print(f"held-out LSP im{HELD_OUT_FROM:04d}-im1000 ({result['examples']} people): stage, PCK@0.2, pixel error")
    for t, (pck, px) in enumerate(zip(result["pck"], result["pixel_error"])):
        print(f"  {t + 1}{first if t == 0 else ''}: {100 * pck:.1f}% {px:.2f} px")
    print(f"wrote {out_dir / 'stages.pt'}, {out_dir / 'log.jsonl'} and {out_dir / 'evaluation.json'}")
    return 0


# ---- evaluate ------------------------------------------------------------------------
def _evaluate(args: argparse.Namespace) -> int:
    json_out = _writable_output(Path(args.json)) if args.json else None
    result = _evaluate_lsp(args) if args.dataset == "lsp" else _evaluate_h36m(args)
    if json_out:
        _write_json(json_out, result)
        print(f"wrote {json_out}")
    return 0


def _evaluate_lsp(args: argparse.Namespace) -> dict:
    from .estimator import Estimator
    from .evaluation.lsp import evaluate_lsp, format_lsp_table

    estimator = Estimator(_load_prior(args.prior), stages=args.refine_stages, fusion_weight=args.fusion_weight,
                          fast=args.fast, learned_stages=args.learned_stages)
    result = evaluate_lsp(estimator, data_dir=args.data, start=args.start - 1, limit=args.limit,
                          progress=not args.quiet)
    print(format_lsp_table(result))
    return result


def _evaluate_h36m(args: argparse.Namespace) -> dict:
    from .evaluation.h36m import evaluate_h36m, format_table

    prior = _load_prior(args.prior)
    result = evaluate_h36m(prior, args.protocol, args.input, subjects=args.subjects, data_dir=args.data,
                           progress=not args.quiet, approximate_weight=args.approximate_weight,
                           perspective=not args.weak_perspective)
    print(format_table(result))
    return result


# ---- train-prior ---------------------------------------------------------------------
def _train_prior(args: argparse.Namespace) -> int:
    from .datasets import cmu, h36m
    from .prior.fit import fit_prior

    out = _writable_output(Path(args.out))
    frames = "all frames" if args.step == 1 else f"every {args.step}th frame"
    if args.mocap is not None:
        clips = cmu.read_cmu_folder(args.mocap)
        poses = np.concatenate([c[:: args.step] for c in clips.values()])
        described = f"CMU mocap: {len(clips)} clips from {args.mocap}, {frames}"
    else:
        poses = h36m.stack_poses(args.subjects, args.data, step=args.step)
        described = f"Human3.6M {' '.join(args.subjects)}, {frames}"
    print(f"poselift: fitting {args.components} components x {args.basis} basis to {len(poses)} poses "
          f"({described})", file=sys.stderr)
    start = time.perf_counter()
    report = fit_prior(poses, "h36m17", n_components=args.components, n_basis=args.basis,
                       add_mirrored=not args.no_mirror, seed=args.seed, training_data=described,
                       progress=not args.quiet)
    report.prior.save(out)
    seconds = time.perf_counter() - start
    print(f"{report.prior.describe()}\nwrote {out} in {seconds:.0f} s "
          f"(alignment {report.seconds['alignment']:.0f} s, mixture {report.seconds['mixture']:.0f} s)")
    if report.prior.n_components < args.components:
        print(f"note: seeding (section 4.2) found only {report.prior.n_components} distinct modes", file=sys.stderr)
    return 0


# ---- show-prior ----------------------------------------------------------------------
def _show_prior(args: argparse.Namespace) -> int:
    from .visualize import prior_figure, save_figure

    out = _writable_output(Path(args.out))
    prior = _load_prior(args.prior)
    save_figure(prior_figure(prior, n_samples=args.samples, seed=args.seed), out)
    print(f"{prior.describe()}\nwrote {out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    from .datasets.h36m import TRAIN_SUBJECTS
    from .estimator import DEFAULT_FUSION_WEIGHT, DEFAULT_STAGES
    from .keypoints import FORMATS
    from .lifting import DEFAULT_ANGLES
    from .prior.fit import DEFAULT_BASIS, DEFAULT_COMPONENTS
    from .skeleton import JOINT_SETS

    parser = argparse.ArgumentParser(prog="poselift", description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train-prior", help="fit the 3D pose prior (paper section 4) to mocap")
    source = train.add_mutually_exclusive_group()
    source.add_argument("--subjects", nargs="+", default=list(TRAIN_SUBJECTS),
                        help="Human3.6M subjects (default: the protocol #1 training split)")
    source.add_argument("--mocap", type=Path, help="a folder of CMU .bvh or .asf/.amc files instead of Human3.6M")
    train.add_argument("--data", type=Path, help="data folder laid out like shared/data (default: ../shared/data)")
    train.add_argument("--components", type=_positive_int, default=DEFAULT_COMPONENTS, help="mixture components K")
    train.add_argument("--basis", type=_positive_int, default=DEFAULT_BASIS, help="basis size J per component")
    train.add_argument("--step", type=_positive_int, default=1, help="use every N-th frame")
    train.add_argument("--no-mirror", action="store_true", help="do not add left/right mirrored copies")
    train.add_argument("--seed", type=int, default=0, help="random seed of the seeding subsample")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.add_argument("--out", required=True, help="the .npz file to write")
    train.set_defaults(run=_train_prior)

    lift = commands.add_parser("lift", help="lift 2D keypoints from a file to 3D (paper section 5.3)")
    lift.add_argument("keypoints", help="the keypoint file")
    lift.add_argument("--format", choices=FORMATS, required=True, help="the file's format")
    lift.add_argument("--joints", choices=sorted(JOINT_SETS), default="h36m17", help="joint set of --format npy")
    lift.add_argument("--prior", help="a prior .npz (default: the shipped one)")
    lift.add_argument("--angles", type=_positive_int, default=DEFAULT_ANGLES, help="ground-plane angles searched")
    lift.add_argument("--approximate-weight", type=float, default=0.0,
                      help="weight of joints the input only approximates (e.g. a head top from ears)")
    lift.add_argument("--height-mm", type=float, help="the person's height from ankles to head top (default: the training poses' size)")
    lift.add_argument("--focal-px", type=float, help="focal length in pixels: correct for perspective")
    lift.add_argument("--principal-px", type=float, nargs=2, metavar=("X", "Y"), help="principal point in pixels")
    lift.add_argument("--out", required=True, help="the JSON to write")
    lift.add_argument("--quiet", action="store_true", help="no progress bar")
    lift.set_defaults(run=_lift)

    estimate = commands.add_parser("estimate", help="2D and 3D pose of everyone in photos (paper section 5)")
    estimate.add_argument("paths", nargs="+", help="photos, or folders of photos")
    estimate.add_argument("--out", default="poselift-output", help="folder for the JSON and PNG files")
    estimate.add_argument("--stages", action="store_true",
                          help="also write each refinement stage (JSON, and a figure like the paper's figure 3)")
    estimate.add_argument("--max-people", type=_positive_int, help="keep at most N people, most prominent first")
    estimate.add_argument("--refine-stages", type=int, default=DEFAULT_STAGES,
                          help="lift-project-fuse rounds before the final lift")
    estimate.add_argument("--fusion-weight", type=float, default=DEFAULT_FUSION_WEIGHT,
                          help="w of eq. 7: the share of the CNN's belief in each fused map")
    estimate.add_argument("--height-mm", type=float, help="size the 3D poses for a person this tall")
    estimate.add_argument("--fast", action="store_true", help="fewer network runs, a little less accurate")
    estimate.add_argument("--learned-stages", nargs="?", const=True, metavar="STAGES_PT",
                          help="run the stages trained on top of BlazePose first: the shipped ones, or a "
                               "stages.pt of poselift train")
    estimate.add_argument("--prior", help="a prior .npz (default: the shipped one)")
    estimate.add_argument("--quiet", action="store_true", help="no progress bar")
    estimate.set_defaults(run=_estimate)

    evaluate = commands.add_parser("evaluate", help="the paper's evaluation protocols (section 6)")
    evaluate.add_argument("dataset", choices=["h36m", "lsp"],
                          help="h36m: 3D protocols from 2D joints; lsp: 2D accuracy from photos")
    evaluate.add_argument("--protocol", type=int, choices=[1, 2, 3], default=1, help="h36m protocol")
    evaluate.add_argument("--input", default="gt", help="h36m 2D input: gt, sh, or an .npz of detections")
    evaluate.add_argument("--subjects", nargs="+", default=["S9"], help="h36m test subjects (S11 is sealed here)")
    evaluate.add_argument("--data", type=Path,
                          help="h36m: a folder laid out like shared/data (holding h36m/); lsp: a folder with "
                               "images/ and joints.npy (default: shared/data/lsp)")
    evaluate.add_argument("--start", type=_positive_int, default=1,
                          help="lsp: the image to start at, counting from 1 (801: LSP's held-out im0801-im1000)")
    evaluate.add_argument("--limit", type=_positive_int, help="lsp: N images only")
    evaluate.add_argument("--refine-stages", type=int, default=DEFAULT_STAGES, help="lsp: refinement rounds")
    evaluate.add_argument("--fusion-weight", type=float, default=DEFAULT_FUSION_WEIGHT, help="lsp: w of eq. 7")
    evaluate.add_argument("--fast", action="store_true", help="lsp: the estimator's fast mode")
    evaluate.add_argument("--learned-stages", nargs="?", const=True, metavar="STAGES_PT",
                          help="lsp: run the stages trained on top of BlazePose first: the shipped ones, or a "
                               "stages.pt of poselift train")
    evaluate.add_argument("--prior", help="a prior .npz (default: the shipped one)")
    evaluate.add_argument("--approximate-weight", type=float, default=0.0,
                          help="weight of input joints that only approximate H36M's (SH spine and head)")
    evaluate.add_argument("--weak-perspective", action="store_true",
                          help="no perspective correction with the camera's focal length (the paper's model)")
    evaluate.add_argument("--json", help="also write the figures to this JSON file")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.set_defaults(run=_evaluate)

    trainer = commands.add_parser(
        "train", help="train the network of section 5 on LSP: stages on top of BlazePose, or CPM from the image",
        description="Defaults depend on --config: blazepose (3 stages, width 32, 5x5 kernels, depth 3, residual, "
                    "Adam 1e-3, 3 epochs) or cpm (368-pixel input, 6 stages, CPM's widths and 7x7 kernels, SGD "
                    "6e-5 with momentum 0.9, flips and random scale/turn/shift, 100 epochs). LSP im0801-im1000 "
                    "are held out and evaluated after every epoch.")
    trainer.add_argument("--config", choices=["blazepose", "cpm"], default="blazepose")
    trainer.add_argument("--out", required=True, help="folder for checkpoint.pt, log.jsonl, stages.pt")
    trainer.add_argument("--data", help="data folder holding lsp/ and lspet/ (default: ../shared/data)")
    trainer.add_argument("--cache", help="blazepose: folder for BlazePose's outputs (default: ~/.cache/poselift)")
    trainer.add_argument("--prior", help="a prior .npz (default: the shipped one)")
    trainer.add_argument("--lifting", choices=["subgradient", "forward", "off"], default="forward",
                         help="3D layers between stages: with gradients, forward only, or none")
    trainer.add_argument("--stages", type=_positive_int, help="stages, the first included")
    trainer.add_argument("--width", type=_positive_int, help="channels of the stages (cpm: 128 is CPM's trunk)")
    trainer.add_argument("--kernel", type=_positive_int)
    trainer.add_argument("--depth", type=_positive_int)
    trainer.add_argument("--input-size", type=_positive_int, help="cpm: side of the crop in pixels (368)")
    trainer.add_argument("--flip", action=argparse.BooleanOptionalAction,
                         help="mirror examples left/right at random (cpm: on, blazepose: off)")
    trainer.add_argument("--epochs", type=_positive_int)
    trainer.add_argument("--batch-size", type=_positive_int)
    trainer.add_argument("--optimizer", choices=["sgd", "adam"], help="sgd uses --momentum (the paper's)")
    trainer.add_argument("--lr", type=float)
    trainer.add_argument("--momentum", type=float)
    trainer.add_argument("--fusion-lr-factor", type=float,
                         help="the fusion weights w learn this many times faster (blazepose: 100, cpm: 1)")
    trainer.add_argument("--seed", type=int)
    trainer.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                         help="cuda: rank r of torchrun uses GPU LOCAL_RANK and nccl")
    trainer.add_argument("--workers", type=int, default=0, help="processes loading data (0: this one)")
    trainer.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.pt")
    trainer.add_argument("--quiet", action="store_true", help="no progress bars")
    trainer.set_defaults(run=_train)

    show = commands.add_parser("show-prior", help="draw each component's mean pose and samples as a PNG")
    show.add_argument("--prior", help="a prior .npz (default: the shipped one)")
    show.add_argument("--samples", type=_positive_int, default=4, help="samples per component")
    show.add_argument("--seed", type=int, default=0)
    show.add_argument("--out", required=True, help="the PNG to write")
    show.set_defaults(run=_show_prior)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, OSError) as err:
        if args.verbose:
            traceback.print_exc()
        print(f"poselift: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("poselift: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
