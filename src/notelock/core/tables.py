"""Polars and Arrow frames as read results: their schemas and their snapshots.

pandas frames are described in :mod:`notelock.core.nodes` and snapshotted as
Parquet in :mod:`notelock.core.snapshots`; this module does the same for the
other frame types a read can return, so schema contracts, drift reports and
replays from snapshots work the same way for them:

* a schema is ``{"columns": [{"name", "dtype", "nulls"}]}`` with the
  library's own dtype names (``Int64``, ``String``, ``Datetime(time_unit='us',
  time_zone=None)`` for Polars; ``int64``, ``large_string``, ``timestamp[us]``
  for Arrow);
* a snapshot is the frame as an Arrow IPC stream (``snapshot_format``
  ``"polars-ipc"`` or ``"arrow-ipc"``): IPC keeps every type exactly
  (categoricals, time zones, nested types), so the frame read back hashes
  equal to the one that was read;
* DuckDB's ``.fetchall()`` rows and ``.fetchnumpy()`` arrays, which are not
  frames, are snapshotted as a typed JSON document (``"python-json"``, see
  :mod:`notelock.core.pyvalues`) and read back as the same Python objects.

Only used when polars or pyarrow is already in ``sys.modules``.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

from . import pyvalues

POLARS_IPC = "polars-ipc"
ARROW_IPC = "arrow-ipc"
PYTHON_JSON = pyvalues.PYTHON_JSON


def _polars_frame(value: Any) -> bool:
    pl = sys.modules.get("polars")
    return pl is not None and isinstance(value, pl.DataFrame)


def _arrow_table(value: Any) -> bool:
    pa = sys.modules.get("pyarrow")
    return pa is not None and isinstance(value, (pa.Table, pa.RecordBatch))


def frame_facts(frame: Any) -> dict[str, Any] | None:
    """Rows, columns and schema of a Polars DataFrame or an Arrow Table/RecordBatch."""
    if _polars_frame(frame):
        columns = [{"name": s.name, "dtype": str(s.dtype), "nulls": int(s.null_count())} for s in frame.iter_columns()]
        return {"rows": int(frame.height), "columns": int(frame.width), "schema": {"columns": columns}}
    if _arrow_table(frame):
        columns = [{"name": field.name, "dtype": str(field.type), "nulls": int(column.null_count)}
                   for field, column in zip(frame.schema, frame.columns)]
        return {"rows": int(frame.num_rows), "columns": int(frame.num_columns), "schema": {"columns": columns}}
    return None


def estimated_bytes(frame: Any) -> int | None:
    """The in-memory size of a frame this module can snapshot, else None."""
    if _polars_frame(frame):
        return int(frame.estimated_size())
    if _arrow_table(frame):
        return int(frame.nbytes)
    if pyvalues.is_python_result(frame):
        return pyvalues.estimated_bytes(frame)
    return None


def snapshot_bytes(frame: Any) -> tuple[bytes, str] | None:
    """``(Arrow IPC bytes, snapshot_format)`` of a Polars or Arrow frame, else None."""
    if _polars_frame(frame):
        sink = io.BytesIO()
        frame.write_ipc(sink)
        return sink.getvalue(), POLARS_IPC
    if _arrow_table(frame):
        pa = sys.modules["pyarrow"]
        table = pa.Table.from_batches([frame]) if isinstance(frame, pa.RecordBatch) else frame
        out = pa.BufferOutputStream()
        with pa.ipc.new_stream(out, table.schema) as writer:
            writer.write_table(table)
        return out.getvalue().to_pybytes(), ARROW_IPC
    if pyvalues.is_python_result(frame):
        data = pyvalues.dumps(frame)  # None: a value whose exact type it cannot keep
        return (data, pyvalues.PYTHON_JSON) if data is not None else None
    return None


def read_snapshot_file(path: str | Path, snapshot_format: str | None) -> Any:
    """A snapshot of this module's formats read back as the frame type that was read,
    or None for a format it does not know (the caller's own)."""
    if snapshot_format == POLARS_IPC:
        import polars as pl

        return pl.read_ipc(io.BytesIO(Path(path).read_bytes()))
    if snapshot_format == ARROW_IPC:
        import pyarrow as pa

        with pa.OSFile(str(path), "rb") as fh:
            return pa.ipc.open_stream(fh).read_all()
    if snapshot_format == pyvalues.PYTHON_JSON:
        return pyvalues.loads(Path(path).read_bytes())
    return None


__all__ = ["frame_facts", "estimated_bytes", "snapshot_bytes", "read_snapshot_file", "POLARS_IPC", "ARROW_IPC",
           "PYTHON_JSON"]
