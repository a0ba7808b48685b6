"""Results in formats other tools read: BVH motion (:mod:`.bvh`), CSV tables (:mod:`.table`) and
a self-contained HTML viewer (:mod:`.html`), all made from a result document (:mod:`.result`)."""

from __future__ import annotations

from pathlib import Path

from .result import Result

__all__ = ["write_exports"]


def write_exports(result: Result, paths: dict[str, Path]) -> None:
    """Write the exports named in ``paths`` (``"bvh"``, ``"csv"``, ``"html"`` -> file), each
    atomically; if one fails (or the run is interrupted), those already written are removed.

    The BVH holds the result's single motion (:func:`.bvh.tracks`: a lift's poses frame after
    frame, or the one person of a photo).

    Raises:
        ValueError: a BVH is asked of a result with no person, or with several people.
    """
    from .bvh import tracks, write_bvh
    from .html import write_html
    from .table import write_csv

    motions = tracks(result) if "bvh" in paths else []
    if "bvh" in paths and len(motions) != 1:
        raise ValueError(f"{result.source}: a BVH file holds one person's motion; the result has "
                         f"{len(motions) or 'no'} {'person' if len(motions) == 1 else 'people'}"
                         f"{'' if motions else ': no BVH written'}")
    writers = {"bvh": lambda path: write_bvh(path, motions[0].positions_mm, motions[0].root_mm),
               "csv": lambda path: write_csv(path, result), "html": lambda path: write_html(path, result)}
    written: list[Path] = []
    try:
        for kind, path in paths.items():
            writers[kind](path)  # atomic: a failed write leaves nothing of its own
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise

