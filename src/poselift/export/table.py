"""A result as a CSV table: one row per frame, person and joint, for spreadsheets and pandas.

Columns (:data:`COLUMNS`): ``frame`` (the photo, or a lift pose's label), ``person`` (1, 2 ...
in the document's order), ``joint_index`` and ``joint`` (Human3.6M-17), ``x_px``, ``y_px``,
``confidence`` (empty where the result has no 2D), ``x_mm``, ``y_mm``, ``z_mm`` (root-relative,
view frame: x right, y up, z towards the camera), ``camera_x_mm``, ``camera_y_mm``,
``camera_z_mm`` (the joint in camera coordinates, OpenCV axes, as the JSON's
``joints_camera_mm``; empty where no camera was known). Numbers are rounded as in the JSON (:mod:`poselift.files`).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ..files import DECIMALS, write_atomically
from ..skeleton import H36M17
from .result import Result

__all__ = ["COLUMNS", "to_csv", "write_csv"]

COLUMNS = ("frame", "person", "joint_index", "joint", "x_px", "y_px", "confidence", "x_mm", "y_mm", "z_mm",
           "camera_x_mm", "camera_y_mm", "camera_z_mm")


def _numbers(values, unit: str) -> list[str]:
    return [f"{v:.{DECIMALS[unit]}f}" for v in np.atleast_1d(values)]


def to_csv(result: Result) -> str:
    """The CSV text of ``result`` (a header line, then 17 rows per person and frame)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for frame in result.frames:
        for number, person in enumerate(frame.people, 1):
            camera = person.joints_camera_mm
            for j, name in enumerate(H36M17.joints):
                xy = ["", ""] if person.joints_2d is None else _numbers(person.joints_2d[j], "px")
                confidence = "" if person.confidence is None else _numbers(person.confidence[j], "fraction")[0]
                xyz_camera = ["", "", ""] if camera is None else _numbers(camera[j], "mm")
                writer.writerow([frame.name, number, j, name, *xy, confidence,
                                 *_numbers(person.joints_3d_mm[j], "mm"), *xyz_camera])
    return out.getvalue()


def write_csv(path: str | Path, result: Result) -> None:
    """Write :func:`to_csv` of ``result`` to ``path`` atomically."""
    text = to_csv(result)
    write_atomically(path, lambda tmp: Path(tmp).write_text(text))
