"""Which of BlazePose's joints are Human3.6M-17's, derived from :mod:`poselift.skeleton`'s data.

BlazePose's landmark network has belief maps (heatmaps) of all 33 BlazePose joints; the
photo pipeline and the learned stages use the 13 that Human3.6M-17 has too
(:data:`SHARED_JOINTS`): the limbs' 12 joints, which both sets name alike, and the joints
that stand in for a Human3.6M joint by one of :data:`poselift.skeleton.DERIVATIONS`' rules
with a single input (:data:`STANDS_IN_FOR`: the nose for the neck/nose point). Human3.6M
joints that such a rule makes from two BlazePose joints are their mid-points
(:data:`MIDPOINTS`: the pelvis from the hips, the thorax from the shoulders); the rest
(spine, head top) come from the 3D model.
"""

from __future__ import annotations

import numpy as np

from ..skeleton import BLAZEPOSE33, DERIVATIONS, H36M17
from .blazepose import HEATMAP_SIZE, LANDMARK_SIZE

__all__ = ["SHARED_JOINTS", "STANDS_IN_FOR", "MIDPOINTS", "BLAZEPOSE_INDEX", "H36M_INDEX", "CELL_PX", "h36m_name"]


def _first_rules() -> dict[str, tuple[str, ...]]:
    """For each Human3.6M joint BlazePose lacks, the inputs of the first rule BlazePose can feed."""
    rules: dict[str, tuple[str, ...]] = {}
    for joint, inputs, _note in DERIVATIONS:
        if joint in H36M17 and joint not in BLAZEPOSE33 and joint not in rules and all(
                name in BLAZEPOSE33 for name in inputs):
            rules[joint] = inputs
    return rules


_RULES = _first_rules()

STANDS_IN_FOR: dict[str, str] = {inputs[0]: joint for joint, inputs in _RULES.items() if len(inputs) == 1}
"""BlazePose joint -> the Human3.6M joint it stands in for (the nose for ``neck_nose``)."""

MIDPOINTS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (joint, inputs) for joint, inputs in _RULES.items() if len(inputs) > 1)
"""(Human3.6M joint, the BlazePose joints whose mean it is): the pelvis and the thorax."""

SHARED_JOINTS: tuple[str, ...] = tuple(STANDS_IN_FOR) + tuple(n for n in H36M17.joints if n in BLAZEPOSE33)
"""The 13 BlazePose joints (BlazePose's names) whose belief maps are used, in the maps'
order: the nose, then shoulders, elbows, wrists, hips, knees and ankles in Human3.6M's order."""


def h36m_name(name: str) -> str:
    """The Human3.6M name of a joint named ``name`` in another set (``"nose"`` -> ``"neck_nose"``)."""
    return STANDS_IN_FOR.get(name, name)


BLAZEPOSE_INDEX = np.array([BLAZEPOSE33.index(n) for n in SHARED_JOINTS])
"""(13,) each shared joint's index among BlazePose's 33."""

H36M_INDEX = np.array([H36M17.index(h36m_name(n)) for n in SHARED_JOINTS])
"""(13,) each shared joint's index among Human3.6M's 17."""

CELL_PX = LANDMARK_SIZE / HEATMAP_SIZE
"""Pixels of the 256-pixel landmark crop per belief-map cell (4)."""
