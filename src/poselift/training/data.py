"""Training examples for the ``blazepose`` configuration: BlazePose run once per labelled photo.

Each example is one person's crop as BlazePose saw it: the crop shrunk to
:data:`PATCH_SIZE` pixels (the image the learned stages see), BlazePose's 64x64 belief maps
of the 13 joints of :data:`poselift.detectors.blazepose_joints.SHARED_JOINTS` (stage 1, frozen), and the
2D labels of those joints in map cells, with a mask (LSP has no nose label; LSP-extended
leaves some joints unannotated). The person is the one found nearest the annotation
(median distance of BlazePose's keypoints over the labelled joints); photos where BlazePose
finds nobody are left out and counted.

Running BlazePose takes about 0.2 s a photo, so the examples are computed once and cached
in an ``.npz`` file. :class:`ExampleDataset` serves them to the training loop, mirrored
left/right at random when asked.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ..datasets.lsp import LspSet
from ..detectors.blazepose import HEATMAP_SIZE, LANDMARK_SIZE
from ..detectors.blazepose_joints import BLAZEPOSE_INDEX, CELL_PX, SHARED_JOINTS
from ..evaluation.metrics import torso_size
from ..files import write_atomically
from ..nn.models import PATCH_SIZE
from ..skeleton import BLAZEPOSE33, LSP14

__all__ = ["Examples", "ExampleDataset", "build_examples", "load_examples", "save_examples"]

_LSP = np.array([LSP14.index(n) if n in LSP14 else -1 for n in SHARED_JOINTS])
_MIRROR = np.array([list(BLAZEPOSE_INDEX).index(BLAZEPOSE33.mirror_index[b]) for b in BLAZEPOSE_INDEX])


@dataclass
class Examples:
    """N training examples (see the module docstring).

    Attributes:
        patches: (N, 128, 128, 3) uint8 RGB crops.
        beliefs: (N, 13, 64, 64) float16 BlazePose belief maps, :data:`SHARED_JOINTS` order.
        labels: (N, 13, 2) float32 labelled joints in map cells (0 where unlabelled).
        mask: (N, 13) bool, True where labelled.
        pixels_per_cell: (N,) float32, image pixels per map cell (for errors in pixels).
        torso_cells: (N,) float32, |right shoulder - left hip| of the annotation, in cells.
        source: (N,) str, the photo each example came from.
    """

    patches: np.ndarray
    beliefs: np.ndarray
    labels: np.ndarray
    mask: np.ndarray
    pixels_per_cell: np.ndarray
    torso_cells: np.ndarray
    source: np.ndarray

    def __len__(self) -> int:
        return len(self.patches)

    def subset(self, index: np.ndarray) -> "Examples":
        return Examples(*(getattr(self, f)[index] for f in self.__dataclass_fields__))

    @staticmethod
    def concatenate(parts: list["Examples"]) -> "Examples":
        return Examples(*(np.concatenate([getattr(p, f) for p in parts]) for f in Examples.__dataclass_fields__))


class ExampleDataset(torch.utils.data.Dataset):
    """The examples as the training loop takes them, one dict per person.

    Item ``i``: ``inputs`` = ((3, 128, 128) patch in [0, 1], (13, 64, 64) BlazePose maps),
    ``labels`` (13, 2) cells, ``mask`` (13,) 0/1, ``pixels_per_cell`` and ``torso_cells``.
    With ``flip``, an example is mirrored left/right with probability 1/2, drawn from
    (seed, epoch, i) so that any number of workers or ranks sees the same examples: patch
    and maps are reversed along x (a label x becomes 63 - x, the maps' own mirror line; the
    patch's lies 3/8 cell away), and left and right joints trade places.
    """

    def __init__(self, examples: Examples, flip: bool = False, seed: int = 0) -> None:
        self.examples, self.flip, self.seed, self.epoch = examples, flip, seed, 0

    def __len__(self) -> int:
        return len(self.examples)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, i: int) -> dict:
        e = self.examples
        patch, maps, labels, mask = e.patches[i], e.beliefs[i], e.labels[i].copy(), e.mask[i]
        if self.flip and np.random.default_rng([self.seed, self.epoch, int(i)]).random() < 0.5:
            patch, maps, mask = patch[:, ::-1], maps[_MIRROR, :, ::-1], mask[_MIRROR]
            labels = labels[_MIRROR]
            labels[:, 0] = np.where(mask, HEATMAP_SIZE - 1 - labels[:, 0], 0.0)
        return {"inputs": (torch.as_tensor(np.ascontiguousarray(patch.transpose(2, 0, 1)) / np.float32(255.0)),
                           torch.as_tensor(np.ascontiguousarray(maps, dtype=np.float32))),
                "labels": torch.as_tensor(labels), "mask": torch.as_tensor(mask.astype(np.float32)),
                "pixels_per_cell": torch.as_tensor(e.pixels_per_cell[i]),
                "torso_cells": torch.as_tensor(e.torso_cells[i])}


def build_examples(data: LspSet, blazepose, progress: bool = True) -> tuple[Examples, int]:
    """Run BlazePose on every photo of ``data``; returns the examples and the photos without a person."""
    from tqdm import tqdm

    from ..images import read_image

    rows, missed = [], 0
    for i, path in enumerate(tqdm(data.images, desc="blazepose", unit="photo", disable=not progress,
                                  file=sys.stderr)):
        labelled = data.labelled[i, _LSP] & (_LSP >= 0)
        people = blazepose.find_people(read_image(path))
        if not people or labelled.sum() < 3:
            missed += 1
            continue
        truth = data.joints[i, np.maximum(_LSP, 0)]
        person = min(people, key=lambda p: np.median(
            np.linalg.norm(p.keypoints[BLAZEPOSE_INDEX][labelled] - truth[labelled], axis=1)))
        to_crop = person.crop.crop_from_image(LANDMARK_SIZE)
        cells = (truth @ to_crop[:, :2].T + to_crop[:, 2]) / CELL_PX
        rows.append((cv2.resize(person.patch, (PATCH_SIZE, PATCH_SIZE), interpolation=cv2.INTER_AREA),
                     np.moveaxis(person.heatmaps[..., BLAZEPOSE_INDEX], -1, 0).astype(np.float16),
                     np.where(labelled[:, None], cells, 0.0).astype(np.float32), labelled,
                     np.float32(person.crop.side / HEATMAP_SIZE),
                     np.float32(torso_size(data.joints[i], LSP14) / (person.crop.side / HEATMAP_SIZE)),
                     str(path.name)))
    if not rows:
        raise ValueError("BlazePose found nobody in any photo: no training examples")
    return Examples(*(np.stack([r[k] for r in rows]) for k in range(7))), missed


def save_examples(examples: Examples, path: str | Path) -> None:
    """Write the examples to an ``.npz`` atomically."""
    arrays = {f: getattr(examples, f) for f in Examples.__dataclass_fields__}

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    write_atomically(path, write)


def load_examples(path: str | Path) -> Examples:
    """Read examples written by :func:`save_examples`.

    Raises:
        FileNotFoundError: no such file. ValueError: not an examples file, or inconsistent.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such examples file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            examples = Examples(*(archive[f] for f in Examples.__dataclass_fields__))
    except (KeyError, ValueError, OSError) as error:
        raise ValueError(f"{path}: not a poselift examples file ({error})") from None
    sizes = {len(getattr(examples, f)) for f in Examples.__dataclass_fields__}
    if len(sizes) != 1 or examples.beliefs.shape[1:] != (len(SHARED_JOINTS), HEATMAP_SIZE, HEATMAP_SIZE):
        raise ValueError(f"{path}: inconsistent examples file")
    return examples
