"""``poselift train`` (the network of section 5 on LSP, 2D labels only) and ``poselift train-lifter``
(the learned lifter, 3D mocap only)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..files import json_header, write_json
from .common import add_prior_option, finite_float, load_prior, output_folder, positive_int

__all__ = ["SCHEMA_VERSION", "add_parsers"]

SCHEMA_VERSION = 1
"""Version of the ``poselift.training-evaluation`` JSON document (docs/output-format.md)."""


def add_parsers(commands) -> None:
    _add_lifter_parser(commands)
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
    add_prior_option(trainer)
    trainer.add_argument("--lifting", choices=["subgradient", "forward", "off"], default="forward",
                         help="3D layers between stages: with gradients, forward only, or none")
    trainer.add_argument("--stages", type=positive_int, help="stages, the first included")
    trainer.add_argument("--width", type=positive_int, help="channels of the stages (cpm: 128 is CPM's trunk)")
    trainer.add_argument("--kernel", type=positive_int)
    trainer.add_argument("--depth", type=positive_int)
    trainer.add_argument("--input-size", type=positive_int, help="cpm: side of the crop in pixels (368)")
    trainer.add_argument("--flip", action=argparse.BooleanOptionalAction,
                         help="mirror examples left/right at random (cpm: on, blazepose: off)")
    trainer.add_argument("--epochs", type=positive_int)
    trainer.add_argument("--batch-size", type=positive_int)
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
    trainer.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ..datasets.paths import data_root
    from ..training import TrainSettings, evaluate_stages, load_stages, train
    from ..training.split import HELD_OUT_FROM, training_sets

    settings = TrainSettings.defaults(
        args.config, stages=args.stages, lifting=args.lifting, width=args.width, kernel=args.kernel,
        depth=args.depth, input_size=args.input_size, flip=args.flip, epochs=args.epochs,
        batch_size=args.batch_size, optimizer=args.optimizer, learning_rate=args.lr, momentum=args.momentum,
        fusion_lr_factor=args.fusion_lr_factor, seed=args.seed)
    settings.check()
    if args.workers < 0:
        raise ValueError(f"--workers must be 0 or more, got {args.workers}")
    out_dir = output_folder(args.out)
    prior = load_prior(args.prior)
    sets = training_sets(settings, Path(args.data) if args.data else data_root(),
                         Path(args.cache) if args.cache else None, not args.quiet)
    settings.unlabelled_joints = sets.unlabelled_joints
    passed = f"; never labelled, passed through: {', '.join(settings.unlabelled_joints)}" \
        if settings.unlabelled_joints else ""
    print(f"poselift: training {settings.config} on {len(sets.training)} people, {len(sets.held_out)} held out{passed}",
          file=sys.stderr)
    _, log = train(sets.training, prior, settings, out_dir, resume=args.resume, progress=not args.quiet,
                   joint_set=sets.joint_set, held_out=sets.held_out, device=args.device, workers=args.workers)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun, rank 0 writes the files and the table
    last = log[-1]
    if "held_out_pixel_error" in last:  # the final weights, evaluated after the last epoch
        result = {"examples": len(sets.held_out), "pck": last["held_out_pck"],
                  "pixel_error": last["held_out_pixel_error"]}
    else:  # a checkpoint from before the log held pixel errors
        result = evaluate_stages(load_stages(out_dir / "stages.pt", prior), sets.held_out, workers=args.workers)
    result.update(settings=asdict(settings), held_out=f"LSP im{HELD_OUT_FROM:04d}-im1000", log=log)
    write_json(out_dir / "evaluation.json", {**json_header("training-evaluation", SCHEMA_VERSION), **result})
    first = " (BlazePose)" if settings.config == "blazepose" else ""
    print(f"held-out LSP im{HELD_OUT_FROM:04d}-im1000 ({result['examples']} people): stage, PCK@0.2, pixel error")
    for t, (pck, px) in enumerate(zip(result["pck"], result["pixel_error"])):
        print(f"  {t + 1}{first if t == 0 else ''}: {100 * pck:.1f}% {px:.2f} px")
    print(f"wrote {out_dir / 'stages.pt'}, {out_dir / 'log.jsonl'} and {out_dir / 'evaluation.json'}")
    return 0


def _add_lifter_parser(commands) -> None:
    from ..datasets.h36m import TRAIN_SUBJECTS

    lifter = commands.add_parser(
        "train-lifter", help="train the learned lifter on 3D mocap alone (virtual cameras, detector-like 2D errors)",
        description="Trains on Human3.6M's training subjects (and any --mocap folder) filmed by random virtual "
                    "cameras: no image or 2D detection is used, unless --detections asks to fine-tune on a "
                    "detector's own 2D paired with 3D. Writes checkpoint.pt, log.jsonl and lifter.pt.")
    lifter.add_argument("--out", required=True, help="folder for checkpoint.pt, log.jsonl, lifter.pt")
    lifter.add_argument("--subjects", nargs="*", default=[s for s in TRAIN_SUBJECTS if s != "S8"],
                        help="Human3.6M subjects to train on (default S1 S5 S6 S7; none with --mocap only)")
    lifter.add_argument("--validation", nargs="*", default=["S8"], help="Human3.6M subjects logged each epoch")
    lifter.add_argument("--mocap", type=Path, help="add a folder of .bvh or .asf/.amc clips")
    lifter.add_argument("--detections", metavar="sh|FILE.npz",
                        help="fine-tune on these 2D detections of --subjects paired with their 3D (as "
                             "evaluate h36m --input reads them) instead of mocap through virtual cameras")
    lifter.add_argument("--init", metavar="LIFTER_PT", help="start from these weights (e.g. the shipped lifter)")
    lifter.add_argument("--data", type=Path, help="data folder laid out like shared/data (default: ../shared/data)")
    lifter.add_argument("--step", type=positive_int, default=2, help="use every N-th mocap frame")
    lifter.add_argument("--steps", type=positive_int, help="Adam steps (default 24000)")
    lifter.add_argument("--batch-size", type=positive_int, help="poses a step (default 1024)")
    lifter.add_argument("--lr", type=float, help="first learning rate (default 1e-3)")
    lifter.add_argument("--width", type=positive_int, help="units of each hidden layer (default 512)")
    lifter.add_argument("--blocks", type=int, help="residual blocks (default 2)")
    lifter.add_argument("--elevation-deg", type=finite_float, nargs=2, metavar=("LOW", "HIGH"),
                        help="virtual cameras' elevation above the pelvis, degrees (default 0 20)")
    lifter.add_argument("--distance-mm", type=finite_float, nargs=2, metavar=("NEAR", "FAR"),
                        help="virtual cameras' distance, mm (default 3000 7500)")
    lifter.add_argument("--roll-deg", type=finite_float, metavar="SD",
                        help="standard deviation of the virtual cameras' roll, degrees (default 0)")
    lifter.add_argument("--off-axis-deg", type=finite_float, nargs=2, metavar=("ACROSS", "UP"),
                        help="largest angle of the person off the optical axis, degrees (default 10 8)")
    lifter.add_argument("--bone-scale", type=finite_float, metavar="SD",
                        help="standard deviation of the log of each bone's random length factor, so that the "
                             "network meets bodies built otherwise than the mocap's (default 0: none)")
    lifter.add_argument("--ankle-lift", type=finite_float, nargs=2, metavar=("LOW", "HIGH"),
                        help="how far up the shank 2D detectors place the ankles, a fraction of its length drawn "
                             "per pose (default 0 0.2; 0 0: mocap's ankles)")
    lifter.add_argument("--answer-frame", metavar="ray|camera",  # checked with the settings
                        help="answer in the frame of the ray from the camera to the person, turned into the "
                             "camera's where the camera is known, or in the camera's frame (default ray; "
                             "with --init, the initial network's)")
    lifter.add_argument("--seed", type=int, help="random seed (default 0)")
    lifter.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    lifter.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.pt")
    lifter.add_argument("--quiet", action="store_true", help="no progress bar")
    lifter.set_defaults(run=_train_lifter)


def _train_lifter(args: argparse.Namespace) -> int:
    import numpy as np

    from ..datasets import cmu, h36m
    from ..training.lifter import LifterSettings, train_lifter

    given = {"steps": args.steps, "batch_size": args.batch_size, "learning_rate": args.lr, "width": args.width,
             "blocks": args.blocks, "seed": args.seed,
             "elevation_deg": args.elevation_deg and tuple(args.elevation_deg),
             "distance_mm": args.distance_mm and tuple(args.distance_mm), "roll_deg": args.roll_deg,
             "off_axis_deg": args.off_axis_deg and tuple(args.off_axis_deg), "answer_frame": args.answer_frame,
             "bone_scale": args.bone_scale, "ankle_lift": args.ankle_lift and tuple(args.ankle_lift)}
    settings = LifterSettings(**{name: value for name, value in given.items() if value is not None})
    settings.final_learning_rate = min(settings.final_learning_rate, settings.learning_rate)
    settings.check()
    out_dir = output_folder(args.out)
    init = None
    if args.init:
        from ..nn.lifter_network import load_lifter_network

        init = load_lifter_network(args.init)
    validation = h36m.stack_poses(args.validation, args.data, step=10) if args.validation else None
    if args.detections:
        from ..training.lifter import paired_views

        if not args.subjects or args.mocap is not None:
            raise ValueError("--detections needs --subjects with 3D (and no --mocap)")
        pairs = paired_views(args.detections, args.subjects, args.data, step=args.step)
        data = (f"{args.detections} detections of Human3.6M {' '.join(args.subjects)} paired with their 3D, every "
                f"{args.step} frame(s): {len(pairs.points)} views" + (f", from {args.init}" if args.init else ""))
        print(f"poselift: fine-tuning the learned lifter on {data}", file=sys.stderr)
        _, log = train_lifter(None, settings, out_dir, validation, data=data, resume=args.resume,
                              progress=not args.quiet, device=args.device, pairs=pairs, init=init)
        return _report(log, args.validation, out_dir)
    parts, described = [], []
    if args.subjects:
        parts.append(h36m.stack_poses(args.subjects, args.data, step=args.step))
        described.append(f"Human3.6M {' '.join(args.subjects)}")
    if args.mocap is not None:
        clips = cmu.read_cmu_folder(args.mocap)
        parts.append(np.concatenate([clip[:: args.step] for clip in clips.values()]))
        described.append(f"{len(clips)} mocap clips from {args.mocap}")
    if not parts:
        raise ValueError("nothing to train on: name --subjects or --mocap")
    poses = np.concatenate(parts)
    data = f"{', '.join(described)}, every {args.step} frame(s): {len(poses)} poses" + \
        (f", from {args.init}" if args.init else "")
    print(f"poselift: training the learned lifter on {data}", file=sys.stderr)
    _, log = train_lifter(poses, settings, out_dir, validation, data=data, resume=args.resume,
                          progress=not args.quiet, device=args.device, init=init)
    return _report(log, args.validation, out_dir)


def _report(log: list[dict], validation: list[str], out_dir: Path) -> int:
    last = log[-1]
    checked = f", validation {' '.join(validation)} {last['validation_mpjpe_mm']:.1f} mm" \
        if "validation_mpjpe_mm" in last else ""
    print(f"step {last['step']}: training MPJPE {last['train_mpjpe_mm']:.1f} mm{checked}")
    print(f"wrote {out_dir / 'lifter.pt'}, {out_dir / 'log.jsonl'} and {out_dir / 'checkpoint.pt'}")
    return 0
