"""Training data of the ``cpm`` configuration: labelled photos, cropped around the person.

A person's box is the square around their labelled joints, :data:`BOX_MARGIN` times the
larger side of the joints' bounding box (the ground-truth box, as single-person benchmarks
give the person's position and scale). The crop the network sees is that box at
``size`` x ``size`` pixels; with augmentation (training), it is first scaled, turned,
shifted and mirrored at random as Convolutional Pose Machines did (:data:`AUGMENTATION`).
Labels follow the same affine map, expressed in cells of the stride-8 maps: cell ``c``
covers crop pixels ``8c`` to ``8c + 7`` and its centre is pixel ``8c + 3.5``.

Any 2D-labelled set (MPII, Human3.6M frames) fits :class:`LabelledPhotos`; :func:`lsp_photos`
reads LSP and LSP-extended.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ..datasets.lsp import load_lsp
from ..evaluation.metrics import torso_size
from ..images import read_image
from ..skeleton import LSP14, JointSet

__all__ = ["AUGMENTATION", "BOX_MARGIN", "STRIDE", "LabelledPhotos", "PhotoCrops", "crop_transform", "lsp_photos",
           "person_box"]

BOX_MARGIN = 1.3
"""Crop side / larger side of the labelled joints' bounding box."""

STRIDE = 8
"""Crop pixels per map cell (CPM's trunk has three 2x2 poolings)."""

AUGMENTATION = {"scale": (0.7, 1.3), "rotation_degrees": 40.0, "shift": 0.1}
"""Random scale range, largest turn either way, largest shift (fraction of the crop side)."""

_BACKGROUND = (128, 128, 128)  # what lies outside the photo: mid grey


@dataclass
class LabelledPhotos:
    """N labelled photos of one person each.

    Attributes:
        images: N image paths.
        joints: (N, J, 2) float pixels in the photo as :func:`poselift.images.read_image` reads it.
        labelled: (N, J) bool, True where a joint's position is annotated.
        joint_set: the J joints.
    """

    images: list[Path]
    joints: np.ndarray
    labelled: np.ndarray
    joint_set: JointSet

    def __post_init__(self) -> None:
        n, j = len(self.images), len(self.joint_set)
        if self.joints.shape != (n, j, 2) or self.labelled.shape != (n, j):
            raise ValueError(f"{n} photos of {j} joints need joints ({n}, {j}, 2) and labelled ({n}, {j}), "
                             f"got {self.joints.shape} and {self.labelled.shape}")
        if (self.labelled.sum(axis=1) < 2).any():
            raise ValueError("every photo needs at least two labelled joints (they define its box)")

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index: np.ndarray) -> "LabelledPhotos":
        return LabelledPhotos([self.images[i] for i in index], self.joints[index], self.labelled[index],
                              self.joint_set)

    @property
    def source(self) -> np.ndarray:
        """(N,) the photos' file names."""
        return np.array([p.name for p in self.images])


def lsp_photos(data_dir: Path) -> LabelledPhotos:
    """LSP (``data_dir/lsp``) and LSP-extended (``data_dir/lspet``) in LSP's 14 joints.

    LSP-extended photos with fewer than two labelled joints are left out.
    """
    images, joints, labelled = [], [], []
    for name in ("lsp", "lspet"):
        data = load_lsp(data_dir / name, convention=name)
        keep = data.labelled.sum(axis=1) >= 2
        images += [p for p, k in zip(data.images, keep) if k]
        joints.append(data.joints[keep])
        labelled.append(data.labelled[keep])
    return LabelledPhotos(images, np.concatenate(joints).astype(np.float64), np.concatenate(labelled), LSP14)


def person_box(joints: np.ndarray, labelled: np.ndarray) -> tuple[np.ndarray, float]:
    """(J, 2) pixels and (J,) mask -> the box's centre (2,) and side, in pixels."""
    points = joints[labelled]
    low, high = points.min(axis=0), points.max(axis=0)
    return (low + high) / 2, BOX_MARGIN * max(float((high - low).max()), 1.0)


def crop_transform(centre: np.ndarray, side: float, size: int, scale: float = 1.0, angle: float = 0.0,
                   shift: np.ndarray | None = None, flip: bool = False) -> np.ndarray:
    """(2, 3) affine map from photo pixels to crop pixels.

    The box (``centre``, ``side``) fills the ``size``-pixel crop, magnified by ``scale``,
    turned by ``angle`` radians (counter-clockwise in the picture), moved by ``shift`` (2,) crop
    pixels (default none), and then mirrored about the crop's vertical mid-line if ``flip``.
    """
    zoom = scale * size / side
    c, s = np.cos(angle), np.sin(angle)
    linear = zoom * np.array([[c, s], [-s, c]])  # y points down: this turns counter-clockwise
    middle = np.full(2, (size - 1) / 2)
    moved = middle if shift is None else middle + shift
    affine = np.concatenate([linear, (moved - linear @ centre)[:, None]], axis=1)
    if flip:  # x -> size - 1 - x, after everything else
        affine[0] = -affine[0]
        affine[0, 2] += size - 1
    return affine


class PhotoCrops(torch.utils.data.Dataset):
    """The photos as the training loop takes them, one dict per person.

    Item ``i``: ``inputs`` = ((3, size, size) crop in [0, 1],), ``labels`` (J, 2) in cells of
    the size / 8 maps, ``mask`` (J,) 0/1 (joints labelled and inside the crop),
    ``pixels_per_cell`` (photo pixels) and ``torso_cells`` (|right shoulder - left hip|, NaN
    if either is unlabelled). With ``augment``, the random draws come from (seed, epoch, i),
    so any number of workers or ranks sees the same crops.
    """

    def __init__(self, photos: LabelledPhotos, size: int = 368, augment: bool = False, flip: bool = False,
                 seed: int = 0) -> None:
        self.photos, self.size, self.augment, self.flip, self.seed, self.epoch = photos, size, augment, flip, seed, 0
        names = photos.joint_set
        self._torso = (names.index("right_shoulder"), names.index("left_hip")) \
            if "right_shoulder" in names and "left_hip" in names else None  # the joints torso_size measures

    def __len__(self) -> int:
        return len(self.photos)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _draw(self, i: int) -> dict:
        if not self.augment:
            return {}
        rng = np.random.default_rng([self.seed, self.epoch, int(i)])
        low, high = AUGMENTATION["scale"]
        return {"scale": rng.uniform(low, high),
                "angle": np.radians(rng.uniform(-1, 1) * AUGMENTATION["rotation_degrees"]),
                "shift": rng.uniform(-1, 1, 2) * AUGMENTATION["shift"] * self.size,
                "flip": bool(self.flip and rng.random() < 0.5)}

    def __getitem__(self, i: int) -> dict:
        photos, cells = self.photos, self.size // STRIDE
        joints, labelled = photos.joints[i], photos.labelled[i].copy()
        centre, side = person_box(joints, labelled)
        draw = self._draw(i)
        affine = crop_transform(centre, side, self.size, **draw)
        crop = cv2.warpAffine(read_image(photos.images[i]), affine, (self.size, self.size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=_BACKGROUND)
        labels = ((joints @ affine[:, :2].T + affine[:, 2]) - (STRIDE - 1) / 2) / STRIDE
        if draw.get("flip"):
            labels, labelled = labels[photos.joint_set.mirror_index], labelled[photos.joint_set.mirror_index]
        labelled &= ((labels >= -0.5) & (labels <= cells - 0.5)).all(axis=1)
        zoom = draw.get("scale", 1.0) * self.size / side
        torso = np.nan
        if self._torso and photos.labelled[i, list(self._torso)].all():
            torso = torso_size(joints, photos.joint_set) * zoom / STRIDE
        return {"inputs": (torch.as_tensor(crop.transpose(2, 0, 1) / np.float32(255.0)),),
                "labels": torch.as_tensor(np.where(labelled[:, None], labels, 0.0).astype(np.float32)),
                "mask": torch.as_tensor(labelled.astype(np.float32)),
                "pixels_per_cell": torch.as_tensor(np.float32(STRIDE / zoom)),
                "torso_cells": torch.as_tensor(np.float32(torso))}
