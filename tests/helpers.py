"""Plain functions the tests share (fixtures are in conftest.py).

Test modules import them as ``from helpers import ...``: pytest's default ``prepend`` import
mode puts this folder (it holds conftest.py and has no ``__init__.py``) on ``sys.path``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from poselift.datasets.lsp import LspSet, load_lsp
from poselift.geometry import rotate_about_up, weak_perspective, world_to_prior


def s1_views(poses_world: np.ndarray, yaw: np.ndarray | float = 0.0, scale: float = 0.25,
             shift=(320.0, 240.0)) -> np.ndarray:
    """(..., 17, 2) pixel joints of (..., 17, 3) world-mm poses (e.g. ``s1_poses[:n]``): each
    moved to the prior frame and centred on its joints' mean, turned by ``yaw`` radians
    (shape (...) or a scalar) about the up axis, seen by a level weak-perspective camera at
    ``scale`` pixels per mm, and shifted by ``shift`` pixels."""
    poses = world_to_prior(poses_world)
    poses = poses - poses.mean(axis=-2, keepdims=True)
    return weak_perspective(rotate_about_up(poses, yaw), scale) + np.asarray(shift, dtype=np.float64)


def random_yaws(count: int, seed: int) -> np.ndarray:
    """(count,) yaws drawn uniformly from [-pi, pi) with ``np.random.default_rng(seed)``."""
    return np.random.default_rng(seed).uniform(-np.pi, np.pi, count)


def tilted_camera(tilt: float) -> np.ndarray:
    """(3, 3) camera rotation about the x axis by ``tilt`` radians: for tilt > 0 a camera
    looking down at the person (the rotation E of eq. 4)."""
    c, s = np.cos(tilt), np.sin(tilt)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def lsp_subset(data_dir: Path, count: int) -> LspSet:
    """The first ``count`` photos of the shared LSP folder, with their joints and flags."""
    lsp = load_lsp(data_dir / "lsp")
    return LspSet(lsp.images[:count], lsp.joints[:count], lsp.labelled[:count], lsp.visible[:count])


def lsp_folder(data_dir: Path, destination: Path, name: str = "lsp", first: int = 0, count: int = 3) -> Path:
    """An LSP-style folder ``destination/name`` of ``count`` photos of the shared ``name``
    folder ("lsp" or "lspet") from photo ``first`` (0-based) on: ``images/`` (links to the
    photos) and their rows of ``joints.npy``. Returns the new folder."""
    folder = destination / name
    (folder / "images").mkdir(parents=True)
    for image in sorted((data_dir / name / "images").glob("*.jpg"))[first:first + count]:
        (folder / "images" / image.name).symlink_to(image)
    np.save(folder / "joints.npy", np.load(data_dir / name / "joints.npy")[first:first + count])
    return folder
