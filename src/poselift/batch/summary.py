"""The run summary: one row per input, as Parquet or JSON lines, and the totals.

Columns (:data:`COLUMNS`): ``path`` (the input), ``status`` (``ok``, ``nobody``, ``failed``,
or ``skipped``: its outputs were complete from an earlier run), ``people`` (people found or
poses lifted; null where it failed), ``seconds`` (the work on it, on its worker),
``error`` (why it failed, else null) and ``worker`` (the process that did it: ``local``, or
the Dask worker's address).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from ..files import write_atomically

__all__ = ["Row", "STATUSES", "COLUMNS", "write_summary", "totals_line"]

STATUSES = ("ok", "nobody", "failed", "skipped")
COLUMNS = ("path", "status", "people", "seconds", "error", "worker")


@dataclass(frozen=True)
class Row:
    """What became of one input (see the module docstring). ``fatal``: the failure was the
    output's (a full disk, an unwritable folder), so the run stops; it is not written."""

    path: str
    status: str
    people: int | None
    seconds: float
    error: str | None = None
    worker: str = "local"
    fatal: bool = False

    def record(self) -> dict:
        """The row as written: the :data:`COLUMNS`."""
        return {k: v for k, v in asdict(self).items() if k in COLUMNS}


def write_summary(path: str | Path, rows: list[Row]) -> None:
    """Write ``rows`` atomically: Parquet for a ``.parquet`` path, else JSON lines."""
    path = Path(path)
    records = [row.record() for row in rows]
    if path.suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([("path", pa.string()), ("status", pa.string()), ("people", pa.int64()),
                            ("seconds", pa.float64()), ("error", pa.string()), ("worker", pa.string())])
        table = pa.Table.from_pylist(records, schema=schema)
        write_atomically(path, lambda tmp: pq.write_table(table, tmp))
    else:
        text = "".join(json.dumps(record) + "\n" for record in records)
        write_atomically(path, lambda tmp: Path(tmp).write_text(text))


def totals_line(rows: list[Row], planned: int | None = None) -> str:
    """``"1000 input(s): 950 ok, 40 nobody, 10 failed, 0 skipped"``; ``"12 of 1000 input(s): ..."``
    where the run stopped before all ``planned`` inputs."""
    counts = Counter(row.status for row in rows)
    done = f"{len(rows)} of {planned}" if planned is not None and planned != len(rows) else f"{len(rows)}"
    return f"{done} input(s): " + ", ".join(f"{counts[s]} {s}" for s in STATUSES)
