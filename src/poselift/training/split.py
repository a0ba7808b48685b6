"""Which examples train and which are held out (never trained on), and where the cache lives."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from ..datasets.lsp import load_lsp
from .data import Examples, build_examples, load_examples, save_examples

__all__ = ["HELD_OUT_FROM", "default_cache", "lsp_examples", "split_held_out"]

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
