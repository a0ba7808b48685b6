"""Lifting people who are not upright in the image: frames turned about the viewing axis.

The prior of section 4 turns people about the vertical axis only (section 4.1), so a tilted
or upside-down person cannot be explained upright in the image. :func:`lift_upright` also
lifts in frames turned by candidate rolls (the turn of the detector's crop, the torso's
direction) and keeps the cheapest. Not in the paper.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..geometry import wrap_angle
from ..skeleton import H36M17

__all__ = ["SAME_ROLL", "lift_upright", "torso_roll", "screen_rotation"]

SAME_ROLL = np.radians(10.0)
"""Candidate lifting frames closer than this (radians) are one frame (see :func:`lift_upright`)."""


def lift_upright(lifter, points: np.ndarray, weights: np.ndarray, centre: np.ndarray,
                 rolls: tuple[float, ...] = (), height_mm: float | None = None, hypotheses: int | None = None):
    """Lift (L, 2) image points upright in the image, and in frames turned by ``rolls``; keep the best.

    ``lifter`` is any of :data:`poselift.lifting.choice.LIFTERS`' classes (a
    :class:`~poselift.lifting.Lifter` or one with the same ``lift(points, weights,
    height_mm=...)``); the result is its kind of lift.

    A roll (radians, counter-clockwise on screen) that makes the body upright, such as the
    turn of BlazePose's crop, gives a frame where the prior can explain it: the points are
    turned by ``-roll`` about ``centre`` (pixels), lifted, and the 3D pose is turned back by
    ``roll`` about the viewing axis. Rolls within :data:`SAME_ROLL` of one tried already are
    skipped; if no frame can be lifted (no positive scale), each is tried once more upside
    down. The frame with the lowest cost (eq. 4's, or the learned lifter's residual) wins (all
    frames have the same pixel scale).
    The result is in the image frame: ``pose_3d`` x right, y up, z towards the camera;
    ``projected_2d`` in image pixels. ``hypotheses``: passed to the lifter (prior and combined
    lifters), and its hypotheses turned back likewise.

    Raises:
        ValueError: no frame can be lifted (the last frame's error).
    """
    frames: list[float] = []
    for roll in (0.0, *(float(r) for r in rolls)):
        if all(abs(wrap_angle(roll - f)) > SAME_ROLL for f in frames):
            frames.append(roll)
    best, error = None, None
    for attempt in (frames, [f + np.pi for f in frames]):  # upside down only if nothing else works
        for angle in attempt:
            upright = screen_rotation(-angle)
            try:
                options = {} if hypotheses is None else {"hypotheses": hypotheses}
                lifted = lifter.lift((points - centre) @ upright.T, weights, height_mm=height_mm, **options)
            except ValueError as err:  # e.g. upside down in this frame: no positive scale
                error = err
                continue
            if best is None or lifted.cost < best[1].cost:
                best = (angle, lifted)
        if best is not None:
            break
    if best is None:
        raise error
    angle, lifted = best
    back = screen_rotation(angle)
    c, s = np.cos(angle), np.sin(angle)
    turn = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])  # the same turn, y up
    turned = {} if lifted.hypotheses is None else {"hypotheses": lifted.hypotheses.turned(turn, back, centre)}
    return dataclasses.replace(lifted, pose_3d=lifted.pose_3d @ turn.T,
                               projected_2d=lifted.projected_2d @ back.T + centre,
                               translation=lifted.translation @ back.T + centre, **turned)


def torso_roll(points: np.ndarray) -> float:
    """The roll (radians, counter-clockwise on screen) that turns mid-hips -> mid-shoulders
    of (17, 2) H36M-17 image points upward."""
    hips = points[[H36M17.index("left_hip"), H36M17.index("right_hip")]].mean(axis=0)
    shoulders = points[[H36M17.index("left_shoulder"), H36M17.index("right_shoulder")]].mean(axis=0)
    up = shoulders - hips
    return float(np.arctan2(-up[0], -up[1]))


def screen_rotation(angle: float) -> np.ndarray:
    """(2, 2) turn of pixel coordinates (y down) by ``angle`` radians counter-clockwise on screen."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, s], [-s, c]])
