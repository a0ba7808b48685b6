"""``poselift estimate`` on many photos: one JSON and one PNG per photo, bad files skipped.

The JSON document (schema ``poselift.estimate``, version :data:`SCHEMA_VERSION`)::

    {"schema": "poselift.estimate", "version": 1,
     "image": {"path": str, "width": px, "height": px},
     "joint_names": [17 H36M names], "bones": [[child, parent], ...],
     "settings": {"stages": T, "fusion_weight": w, "sigma_cells": s, "height_mm": h|null, "fast": bool,
                  "prior": str, "learned_stages": path|null},
     "people": [{
        "score": detector score x presence, "box": [x0, y0, x1, y1] px,
        "joints_2d": [[x, y] px] * 17, "confidence": [0..1] * 17,
        "source": ["detected" | "derived" | "model"] * 17,
        "joints_3d_mm": [[x, y, z]] * 17   (root-relative; y up, x right, z towards the camera),
        "angle_deg": ground-plane rotation, "component": mixture component,
        "residual_px2": weighted squared 2D error of the fit, "scale_px_per_unit": s of eq. 4,
        "blazepose_33": {"joints_2d": [[x, y]] * 33, "visibility": [..] * 33},
        "stages": [{"joints_2d": [[x, y]] * 17, "projected_2d": [[x, y]] * 17}, ...]  (with --stages)
     }, ...]}

Pixels are those of the photo as a viewer shows it (EXIF orientation applied), x right,
y down, whatever size the photo has.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .files import write_atomically
from .images import ImageError, read_image
from .skeleton import BLAZEPOSE33, H36M17

__all__ = ["SCHEMA_VERSION", "BatchReport", "estimate_files", "document"]

SCHEMA_VERSION = 1


@dataclass
class BatchReport:
    """What a batch did: outputs written, photos with nobody, files that failed (with why)."""

    written: list[tuple[Path, Path]] = field(default_factory=list)
    nobody: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.nobody and not self.failed


def _round(array: np.ndarray, digits: int) -> list:
    return np.round(np.asarray(array, dtype=np.float64), digits).tolist()


def document(path: Path, image_shape: tuple[int, ...], people, estimator, stages: bool) -> dict:
    """The JSON document for one photo (see the module docstring)."""
    out = {
        "schema": "poselift.estimate", "version": SCHEMA_VERSION,
        "image": {"path": str(path), "width": int(image_shape[1]), "height": int(image_shape[0])},
        "joint_names": list(H36M17.joints), "bones": H36M17.bones.tolist(),
        "blazepose_joint_names": list(BLAZEPOSE33.joints),
        "settings": {"stages": estimator.stages, "fusion_weight": estimator.fusion_weight,
                     "sigma_cells": estimator.sigma, "height_mm": estimator.height_mm, "fast": estimator.fast,
                     "prior": estimator.prior.describe(), "learned_stages": estimator.learned_path},
        "people": [],
    }
    for person in people:
        entry = {
            "score": round(person.score, 4), "box": _round(person.box, 1),
            "joints_2d": _round(person.joints_2d, 2), "confidence": _round(person.confidence, 3),
            "source": list(person.source), "joints_3d_mm": _round(person.pose_3d, 1),
            "angle_deg": round(float(np.degrees(person.lifted.angle)), 2),
            "component": int(person.lifted.component),
            "residual_px2": round(float(person.lifted.residual), 3),
            "scale_px_per_unit": round(float(person.lifted.scale), 4),
            "blazepose_33": {"joints_2d": _round(person.blazepose_2d, 2),
                             "visibility": _round(person.blazepose_visibility, 3)},
        }
        if stages:
            entry["stages"] = [{"joints_2d": _round(s.joints_2d, 2), "projected_2d": _round(s.projected_2d, 2)}
                               for s in person.stages]
        out["people"].append(entry)
    return out


def _output_paths(files: list[Path], out_dir: Path) -> list[tuple[Path, Path]]:
    """(json, png) per file; photos that share a name get -2, -3 ... so none overwrites another."""
    seen: dict[str, int] = {}
    paths = []
    for f in files:
        count = seen[f.stem] = seen.get(f.stem, 0) + 1
        stem = f.stem if count == 1 else f"{f.stem}-{count}"
        paths.append((out_dir / f"{stem}.json", out_dir / f"{stem}.png"))
    return paths


def estimate_files(files: list[Path], out_dir: Path, estimator, max_people: int | None = None,
                   stages: bool = False, progress: bool = True) -> BatchReport:
    """Estimate every photo in ``files``, writing ``<stem>.json`` and ``<stem>.png`` into ``out_dir``.

    A file that cannot be read is reported on stderr and skipped. A photo with nobody in it
    gets its JSON (with an empty list of people) and PNG, and is reported too. With
    ``stages``, the JSON has per-stage 2D joints and ``<stem>_stages.png`` shows the
    beliefs per stage (like the paper's figure 3). Each output file is written atomically.
    """
    from tqdm import tqdm

    from .visualize import estimate_figure, save_figure, stages_figure

    report = BatchReport()
    bar = tqdm(list(zip(files, _output_paths(files, out_dir))), desc="estimate", unit="photo",
               disable=not progress or len(files) < 2, file=sys.stderr)
    for path, (json_path, png_path) in bar:
        try:
            image = read_image(path)
            people = estimator.estimate(image, max_people=max_people)
        except (ImageError, ValueError) as error:
            report.failed.append((path, str(error)))
            tqdm.write(f"poselift: skipped {error}", file=sys.stderr)
            continue
        payload = json.dumps(document(path, image.shape, people, estimator, stages), indent=1)
        write_atomically(json_path, lambda tmp, text=payload: Path(tmp).write_text(text))
        save_figure(estimate_figure(image, people, H36M17), png_path)
        if stages and people:
            save_figure(stages_figure(people, H36M17), png_path.with_name(png_path.stem + "_stages.png"))
        report.written.append((json_path, png_path))
        if not people:
            report.nobody.append(path)
            tqdm.write(f"poselift: {path}: nobody found", file=sys.stderr)
    return report
