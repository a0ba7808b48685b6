"""Which examples train and which are held out (never trained on), and where the cache lives."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datasets.lsp import load_lsp
from ..detectors.blazepose_joints import SHARED_JOINTS
from ..nn.models import unlabelled_joints
from ..skeleton import JointSet
from .data import ExampleDataset, Examples, build_examples, load_examples, save_examples
from .photos import PhotoCrops, lsp_photos

__all__ = ["HELD_OUT_FROM", "TrainingSets", "default_cache", "lsp_examples", "split_held_out", "training_sets"]

HELD_OUT_FROM = 801
"""LSP training-half images im0801..im1000 are held out; im0001..im0800 and LSP-extended train."""


def default_cache() -> Path:
    """``$POSELIFT_CACHE`` or ``~/.cache/poselift``: where BlazePose's outputs are kept."""
    return Path(os.environ.get("POSELIFT_CACHE", Path.home() / ".cache" / "poselift"))


def lsp_examples(data_dir: Path, cache_dir: Path, blazepose_factory, progress: bool = True) -> Examples:
    """Examples of ``data_dir/lsp`` and ``data_dir/lspet``, from the cache or computed and cached."""
    parts = []
    for name in ("lsp", "lspet"):
        cached = cache_dir / f"{name}_examples.npz"
        if cached.is_file():
            parts.append(load_examples(cached))
            continue
        examples, missed = build_examples(load_lsp(data_dir / name, convention=name), blazepose_factory(), progress)
        print(f"poselift: {name}: {len(examples)} examples, BlazePose found nobody in {missed} photo(s)",
              file=sys.stderr)
        cache_dir.mkdir(parents=True, exist_ok=True)
        save_examples(examples, cached)
        parts.append(examples)
    return Examples.concatenate(parts)


def split_held_out(data):
    """(training, held out) of :class:`~poselift.training.data.Examples` or
    :class:`~poselift.training.photos.LabelledPhotos`: held out are LSP's im0801.jpg to
    im1000.jpg (see :data:`HELD_OUT_FROM`); LSP-extended's five-digit names always train."""
    names = np.asarray(data.source).astype(str)
    held = np.array([n.startswith("im") and len(n) == 10 and int(n[2:6]) >= HELD_OUT_FROM for n in names])
    return data.subset(np.flatnonzero(~held)), data.subset(np.flatnonzero(held))


@dataclass(frozen=True)
class TrainingSets:
    """The datasets of a training run on LSP.

    Attributes:
        training: the augmenting dataset trained on.
        held_out: LSP im0801-im1000 (:data:`HELD_OUT_FROM`), not augmenting.
        joint_set: the labels' joint set (``cpm``), or None (``blazepose``: the maps' joints).
        unlabelled_joints: joints that no training label marks (their maps pass through).
    """

    training: object
    held_out: object
    joint_set: JointSet | None
    unlabelled_joints: tuple[str, ...]


def training_sets(settings, data_dir: Path, cache: Path | None = None, progress: bool = True) -> TrainingSets:
    """The :class:`TrainingSets` of ``settings.config`` from ``data_dir`` (holding lsp/ and lspet/).

    ``blazepose`` runs BlazePose once per photo, keeping its outputs in ``cache`` (default
    :func:`default_cache`); ``cpm`` reads the photos themselves.
    """
    if settings.config == "cpm":
        training, held_out = split_held_out(lsp_photos(data_dir))
        return TrainingSets(PhotoCrops(training, settings.input_size, augment=True, flip=settings.flip,
                                       seed=settings.seed),
                            PhotoCrops(held_out, settings.input_size), training.joint_set,
                            unlabelled_joints(training.joint_set.joints, training.labelled))
    from ..detectors import BlazePose

    examples = lsp_examples(data_dir, cache or default_cache(), BlazePose, progress)
    training, held_out = split_held_out(examples)
    return TrainingSets(ExampleDataset(training, flip=settings.flip, seed=settings.seed), ExampleDataset(held_out),
                        None, unlabelled_joints(SHARED_JOINTS, training.mask))
