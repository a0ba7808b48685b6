"""A result as one self-contained HTML page: the photo with the 2D skeletons, and a 3D view to turn.

The page (``viewer.html`` beside this module, about 14 KB of HTML, CSS and plain JavaScript
drawing on two canvases) holds the result's numbers as JSON and the photo as an embedded
JPEG (at most :data:`EMBEDDED_SIDE` pixels on its longer side). It loads nothing from the
network and needs no library: a skeleton is 16 lines and 17 dots, which a canvas draws in
well under a millisecond, so a 3D library (three.js 0.187's WebGL build is 2.1 MB as its npm
package ships it) would only add weight.

In the page: drag to turn the 3D view, wheel to zoom, click a joint to read its numbers,
double-click to reset; a slider and a play button step through the frames of a multi-frame
result. Scripts (and the tests) reach the view through ``window.poselift`` (``setView``,
``joints3d``, ``joints2d`` ...).
"""

from __future__ import annotations

import base64
import io
import json
import re
from importlib import resources
from pathlib import Path

import numpy as np

from ..files import rounded, write_atomically
from ..images import ImageError, read_photo
from ..skeleton import H36M17
from .result import Result

__all__ = ["EMBEDDED_SIDE", "page_data", "to_html", "write_html"]

EMBEDDED_SIDE = 1280
"""Longest side, in pixels, of the photo embedded in the page."""

_JPEG_QUALITY = 85


def _embedded_photo(path: str, size: tuple[int, int], pixels: np.ndarray | None) -> tuple[dict | None, str | None]:
    """The photo (``pixels``, else read from ``path``) as a data URL at most :data:`EMBEDDED_SIDE`
    px on its longer side, or None and why not."""
    from PIL import Image

    if pixels is None:
        try:
            pixels = read_photo(path, longest=EMBEDDED_SIDE).pixels
        except ImageError as error:
            return None, f"The photo could not be shown: {error}."
    image = Image.fromarray(pixels)
    image.thumbnail((EMBEDDED_SIDE, EMBEDDED_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=_JPEG_QUALITY)
    source = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"src": source, "width": size[0], "height": size[1]}, None


def page_data(result: Result, frame_time_s: float = 1 / 30, photo_pixels: np.ndarray | None = None) -> dict:
    """What the page shows, as the JSON it embeds; ``photo_pixels`` (h, w, 3) uint8 spare reading
    an estimate's photo again."""
    notes = []
    image = None
    if result.image_path is not None:
        image, problem = _embedded_photo(result.image_path, result.image_size, photo_pixels)
        if problem:
            notes.append(problem)
    if result.people_count == 0:
        notes.append("Nobody was found in this photo." if result.kind == "estimate" else "No pose was lifted.")
    lifter = f"lifter: {result.lifter}" if result.lifter else ""
    camera = (f", camera: focal {result.camera['focal_px']} px ({result.camera['source']})" if result.camera
              else ", no camera: people are placed side by side")
    def maybe(values, unit: str):
        return None if values is None else rounded(values, unit)

    frames = [{"name": frame.name, "people": [{
        "label": person.label, "joints_3d": rounded(person.joints_3d_mm, "mm"),
        "joints_2d": maybe(person.joints_2d, "px"), "confidence": maybe(person.confidence, "fraction"),
        "root_camera": maybe(person.root_camera_mm, "mm"),
        "alternatives": maybe(person.alternatives, "mm"), "probabilities": maybe(person.probabilities, "fraction"),
        "joint_sd": maybe(person.joint_sd_mm, "mm"),
    } for person in frame.people]} for frame in result.frames]
    return {
        "title": Path(result.image_path or result.source).name,
        "subtitle": f"{result.kind}, {result.people_count} {'person' if result.people_count == 1 else 'people'}, "
                    f"{len(result.frames)} frame(s); {lifter}{camera}",
        "notes": notes, "image": image, "frames": frames, "frame_time_s": frame_time_s,
        "joint_names": list(H36M17.joints), "bones": H36M17.bones.tolist(), "sides": list(H36M17.sides),
    }


def to_html(result: Result, frame_time_s: float = 1 / 30, photo_pixels: np.ndarray | None = None) -> str:
    """The page's text for ``result``: the template with its data (``</`` escaped inside the JSON)."""
    template = resources.files("poselift.export").joinpath("viewer.html").read_text(encoding="utf-8")
    data = page_data(result, frame_time_s, photo_pixels)
    payload = json.dumps(data, allow_nan=False).replace("</", "<\\/")
    fills = {"TITLE": data["title"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), "DATA": payload}
    return re.sub(r"__(TITLE|DATA)__", lambda match: fills[match.group(1)], template)


def write_html(path: str | Path, result: Result, frame_time_s: float = 1 / 30,
               photo_pixels: np.ndarray | None = None) -> None:
    """Write :func:`to_html` of ``result`` to ``path`` atomically."""
    text = to_html(result, frame_time_s, photo_pixels)
    write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
