"""Pictures: 2D and 3D skeletons, a photo's result, the prior's components, figures 2 and 3.

Every function returns a :class:`matplotlib.figure.Figure` made without pyplot, so nothing
here changes matplotlib's backend or a notebook's state (no screen is needed);
:func:`save_figure` writes one atomically, and a notebook shows one as it is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .files import write_atomically
from .skeleton import H36M17, JointSet

__all__ = ["SIDE_COLOURS", "draw", "draw_skeleton_2d", "draw_skeleton_3d", "prior_figure", "aligned_pca_figure",
           "estimate_figure", "rounds_figure", "save_figure"]

SIDE_COLOURS = {"left": "tab:blue", "right": "tab:red", "centre": "0.35"}
"""Bone colours by the side of the child joint (left blue, right red)."""

PHOTO_PANEL_INCHES = (1.0, 12.0)
"""Narrowest and widest photo panel of :func:`estimate_figure` (5 inches tall): bounds the canvas."""

SHOWN_SIDE = 2000
"""Longest side, in pixels, of the photo as drawn (larger photos are shrunk for the picture only)."""


def _shown(image: np.ndarray) -> np.ndarray:
    """The photo shrunk to :data:`SHOWN_SIDE` on its longer side, for drawing (coordinates stay the photo's)."""
    import cv2

    factor = SHOWN_SIDE / max(image.shape[:2])
    if factor >= 1:
        return image
    size = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def draw_skeleton_2d(ax, points: np.ndarray, joint_set: JointSet, confidence: np.ndarray | None = None,
                     label: str = "") -> None:
    """Draw one (L, 2) pixel pose on an image axis; joints with confidence < 0.5 hollow, bones dashed."""
    points = np.asarray(points)
    weak = np.zeros(len(points), dtype=bool) if confidence is None else np.asarray(confidence) < 0.5
    sides = joint_set.sides
    for child, parent in joint_set.bones:
        a, b = points[child], points[parent]
        ax.plot([a[0], b[0]], [a[1], b[1]], color=SIDE_COLOURS[sides[child]], lw=2,
                ls="--" if weak[child] or weak[parent] else "-")
    ax.scatter(points[~weak, 0], points[~weak, 1], s=12, color="w", edgecolors="k", linewidths=0.6, zorder=3)
    ax.scatter(points[weak, 0], points[weak, 1], s=12, facecolors="none", edgecolors="w", linewidths=0.8, zorder=3)
    if label:
        top = points[np.argmin(points[:, 1])]
        ax.text(top[0], top[1] - 8, label, color="w", fontsize=9, ha="center", va="bottom",
                bbox={"facecolor": "k", "alpha": 0.5, "pad": 1, "lw": 0})


def draw_skeleton_3d(ax, pose: np.ndarray, joint_set: JointSet, title: str = "", hypotheses=None) -> None:
    """Draw one (L, 3) pose, y up (the prior frame), on a 3D axis, with equal axis scales.

    ``hypotheses``: a pose's :class:`~poselift.lifting.hypotheses.Hypotheses` (its first is
    ``pose``): the others are drawn in grey, the more opaque the more probable, and each
    joint's standard deviation along the three axes as a cross (+-1 SD).
    """
    pose = np.asarray(pose)
    sides = joint_set.sides
    if hypotheses is not None:
        for other, probability in zip(hypotheses.pose_3d[1:hypotheses.count], hypotheses.probability[1:]):
            for child, parent in joint_set.bones:
                a, b = other[child], other[parent]
                ax.plot([a[0], b[0]], [a[2], b[2]], [a[1], b[1]], color="0.45", lw=1.2,
                        alpha=float(0.15 + 0.7 * probability))
        deviation = np.sqrt(np.diagonal(hypotheses.joint_covariance, axis1=-2, axis2=-1))  # (L, 3)
        for joint, spread in zip(pose, deviation):
            for axis in range(3):
                step = np.zeros(3)
                step[axis] = spread[axis]
                a, b = joint - step, joint + step
                ax.plot([a[0], b[0]], [a[2], b[2]], [a[1], b[1]], color="tab:purple", lw=0.8, alpha=0.6)
    for child, parent in joint_set.bones:
        a, b = pose[child], pose[parent]
        # matplotlib's vertical axis is its z: plot (x, z, y)
        ax.plot([a[0], b[0]], [a[2], b[2]], [a[1], b[1]], color=SIDE_COLOURS[sides[child]], lw=2)
    ax.scatter(pose[:, 0], pose[:, 2], pose[:, 1], s=6, color="k")
    shown = pose if hypotheses is None else hypotheses.pose_3d[:hypotheses.count].reshape(-1, 3)
    centre = (shown.max(axis=0) + shown.min(axis=0)) / 2
    radius = max(float(np.ptp(shown, axis=0).max()) / 2, 1e-9)
    ax.set_xlim(centre[0] - radius, centre[0] + radius)
    ax.set_ylim(centre[2] - radius, centre[2] + radius)
    ax.set_zlim(centre[1] - radius, centre[1] + radius)
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=12, azim=-70)
    ax.set_xticklabels([])
    ax.set_yticklabels([])
    ax.set_zticklabels([])
    if title:
        ax.set_title(title, fontsize=9)


def prior_figure(prior, n_samples: int = 4, seed: int = 0) -> Figure:
    """One row per mixture component: its mean pose, then ``n_samples`` draws from it (mm)."""
    k = prior.n_components
    fig = Figure(figsize=(2.2 * (n_samples + 1), 2.4 * k))
    for row in range(k):
        samples = prior.to_millimetres(prior.sample(n_samples, seed=seed + row, component=row))
        poses = [prior.mean_poses()[row], *samples]
        for col, pose in enumerate(poses):
            ax = fig.add_subplot(k, n_samples + 1, row * (n_samples + 1) + col + 1, projection="3d")
            title = f"component {row} mean (w={prior.weights[row]:.2f})" if col == 0 else f"sample {col}"
            draw_skeleton_3d(ax, pose, prior.joint_set, title)
    fig.suptitle(prior.describe(), fontsize=9)
    fig.tight_layout()
    return fig


def aligned_pca_figure(aligned_flat: np.ndarray, labels: np.ndarray | None = None, max_points: int = 20000,
                       seed: int = 0) -> Figure:
    """Figure 2 of the paper: aligned poses projected on their first two principal axes.

    Args:
        aligned_flat: (N, D) aligned, normalised, flattened poses.
        labels: optional (N,) mixture component of each pose, for colours.
    """
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(aligned_flat), size=min(max_points, len(aligned_flat)), replace=False)
    x = aligned_flat[pick] - aligned_flat.mean(axis=0)
    _, _, vt = np.linalg.svd(x[: min(len(x), 5000)], full_matrices=False)
    coords = x @ vt[:2].T
    fig = Figure(figsize=(6, 5))
    ax = fig.add_subplot()
    colours = {} if labels is None else {"c": labels[pick], "cmap": "tab10"}
    ax.scatter(coords[:, 0], coords[:, 1], s=1, alpha=0.3, **colours)
    ax.set_xlabel("first principal axis")
    ax.set_ylabel("second principal axis")
    ax.set_title("aligned poses in 2D PCA (paper fig. 2)" + ("" if labels is None else "; colour: component"))
    fig.tight_layout()
    return fig


def estimate_figure(image: np.ndarray, people, joint_set: JointSet, size: tuple[int, int] | None = None) -> Figure:
    """The photo with each person's 2D skeleton (numbered), beside each person's 3D skeleton.

    Args:
        image: (H, W, 3) uint8 RGB photo.
        people: :class:`poselift.estimator.Person` list (may be empty).
        size: (width, height) of the photo the people's pixels refer to, if ``image`` is a
            reduced copy of it (default: the image's own size).
    """
    n = max(len(people), 1)
    width, height = size or (image.shape[1], image.shape[0])
    photo_width = float(np.clip(5.0 * width / max(height, 1), *PHOTO_PANEL_INCHES))  # a 5000x1 photo: 12 in
    fig = Figure(figsize=(photo_width + 3.0 * min(n, 4), 5.0))
    grid = fig.add_gridspec(1 if n <= 4 else 2, 1 + min(n, 4),
                            width_ratios=[photo_width] + [3.0] * min(n, 4))
    ax = fig.add_subplot(grid[:, 0])
    ax.imshow(_shown(image), extent=(0, width, height, 0))
    for i, person in enumerate(people):
        draw_skeleton_2d(ax, person.joints_2d, joint_set, person.confidence, label=str(i + 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    ax.set_title("2D joints (dashed: confidence < 0.5)" if people else "nobody found", fontsize=9)
    for i, person in enumerate(people[:8]):
        cell = grid[i // 4, 1 + i % 4] if n > 4 else grid[0, 1 + i]
        ax3 = fig.add_subplot(cell, projection="3d")
        facing = f", facing {np.degrees(person.lifted.angle):.0f} deg" if hasattr(person.lifted, "angle") else ""
        several = person.lifted.hypotheses
        if several is not None:
            facing += (f"\np {several.probability[0]:.2f} of {several.count}; grey: others; purple: +-1 SD"
                       if several.count > 1 else "\npurple: +-1 SD")
        draw_skeleton_3d(ax3, person.pose_3d, joint_set, f"{i + 1}: 3D{facing}", several)
    fig.tight_layout()
    return fig


def draw(image: np.ndarray | str | Path, people) -> Figure:
    """The figure of one photo's result: ``poselift.draw(image, estimator.estimate(image))``.

    Args:
        image: (H, W, 3) uint8 RGB photo, or its path.
        people: :class:`poselift.Person` list (may be empty), in H36M-17 joints.
    """
    if isinstance(image, (str, Path)):
        from .images import read_image

        image = read_image(image)
    return estimate_figure(image, people, H36M17)


def rounds_figure(people, joint_set: JointSet) -> Figure:
    """Like the paper's figure 3: per person a row, per refinement round the crop with its
    summed belief maps and the 2D joints read from them, then the final 3D pose.

    Args:
        people: :class:`poselift.Person` list with their rounds and detector views (people
            without a detector view are left out).
    """
    people = [p for p in people if p.detector is not None]
    rows = max(len(people), 1)
    cols = max((len(p.rounds) for p in people), default=1) + 1
    fig = Figure(figsize=(2.6 * cols, 2.8 * rows))
    for r, person in enumerate(people):
        corners = person.detector.crop_corners
        # image pixels -> crop pixels of the 256 patch: the crop is a similarity transform
        origin, x_axis, y_axis = corners[0], corners[1] - corners[0], corners[3] - corners[0]
        basis = np.linalg.inv(np.stack([x_axis, y_axis], axis=1))
        patch = person.detector.patch
        size = patch.shape[0]
        for c, round_ in enumerate(person.rounds):
            ax = fig.add_subplot(rows, cols, r * cols + c + 1)
            ax.imshow(patch)
            belief = round_.beliefs.max(axis=-1)
            ax.imshow(belief, cmap="inferno", alpha=0.55, extent=(0, size, size, 0), vmin=0, vmax=1)
            in_crop = ((round_.joints_2d - origin) @ basis.T) * size
            draw_skeleton_2d(ax, in_crop, joint_set, person.confidence)
            ax.set_xlim(0, size)
            ax.set_ylim(size, 0)
            ax.set_axis_off()
            ax.set_title("BlazePose beliefs" if c == 0 else f"fused, round {c}", fontsize=9)
        ax3 = fig.add_subplot(rows, cols, r * cols + cols, projection="3d")
        draw_skeleton_3d(ax3, person.pose_3d, joint_set, f"person {r + 1}: final 3D")
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: str | Path, dpi: int = 110) -> None:
    """Write ``fig`` as PNG to ``path`` atomically (a temporary file, then a rename)."""
    write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png"))
