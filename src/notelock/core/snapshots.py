"""Input snapshots: a read under ``--snapshot`` keeps what it read in the store.

A file read stores the file's bytes (a reflink or a copy; see
:meth:`Store.put_file`); a SQL read (or any read whose source is not a local
file, such as a URL) stores the resulting DataFrame as Parquet. The read node
then records ``snapshot`` (the object's digest) and ``snapshot_format``
(``"file"`` or ``"parquet"``). These are facts about the run, not part of
the node's identity: the identity already covers the content that was read.

Reads bigger than the per-read limit are recorded by hash only, with a
one-line warning that they are not pinned.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import protocol, pyvalues, tables
from .errors import StoreError
from .store import Store, format_size, parse_size, short

#: default per-read limit (NOTELOCK_SNAPSHOT_MAX_BYTES overrides it)
DEFAULT_LIMIT = 1 << 30


def limit_from_env(environ: dict[str, str] | None = None) -> int:
    """The per-read snapshot limit in bytes (``NOTELOCK_SNAPSHOT_MAX_BYTES``, e.g. ``2GiB``)."""
    env = os.environ if environ is None else environ
    text = protocol.setting("NOTELOCK_SNAPSHOT_MAX_BYTES", env)
    if not text:
        return DEFAULT_LIMIT
    try:
        return parse_size(text)
    except ValueError:
        return DEFAULT_LIMIT


def frame_to_parquet(frame: Any) -> bytes:
    """A DataFrame as Parquet bytes (index included), through pyarrow.

    ``preserve_index=None`` keeps a RangeIndex as metadata, so the frame read
    back has the same index type, and so the same content hash, as the
    original (``True`` would turn it into an integer column).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=None)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def read_snapshot(store: Store, node: dict[str, Any]) -> Any:
    """Read a read node's snapshot back as a DataFrame (verified on the way).

    A ``file`` snapshot is read with the node's reader and options; a
    ``parquet`` one with pyarrow; ``polars-ipc`` and ``arrow-ipc`` ones as the
    Polars or Arrow frame that was read, a ``python-json`` one as the rows or
    arrays DuckDB returned (:mod:`notelock.core.tables`).
    """
    digest = node.get("snapshot")
    if not digest:
        raise StoreError(f"read of {node.get('path') or node.get('query') or '?'} has no snapshot")
    path = store.path(digest)
    import pandas as pd

    if node.get("snapshot_format") == "parquet":
        return read_parquet_snapshot(path)
    table = tables.read_snapshot_file(path, node.get("snapshot_format"))
    if table is not None:
        return table
    module, _, name = str(node.get("reader", "pandas.read_csv")).rpartition(".")
    reader = getattr(pd if module == "pandas" else importlib.import_module(module), name)
    options = {k: v for k, v in (node.get("options") or {}).items() if not isinstance(v, dict)}
    return reader(path, **options)


def read_parquet_snapshot(path: str | Path) -> Any:
    """A SQL result's Parquet snapshot as the DataFrame the reader returned."""
    import pandas as pd
    import pyarrow.parquet as pq

    frame = pq.read_table(path).to_pandas()
    # a RangeIndex written with preserve_index=True comes back as integers;
    # readers such as read_sql return a RangeIndex, so give it back
    index = frame.index
    if (index.name is None and index.dtype.kind == "i" and len(index)
            and index[0] == 0 and index.is_monotonic_increasing and index.is_unique
            and index[-1] == len(index) - 1):
        frame.index = pd.RangeIndex(len(index))
    return frame


class SnapshotObserver:
    """A read observer (``Session.read_observers``) that stores what a read read.

    *store* returns the store to use (it can change with ``%lock store``);
    *enabled* says whether the running cell snapshots; *warn* shows one line.
    """

    def __init__(self, store: Callable[[], Store], enabled: Callable[[], bool],
                 warn: Callable[[str], None], limit: int | None = None):
        self.store = store
        self.enabled = enabled
        self.warn = warn
        self.limit = limit_from_env() if limit is None else limit

    def __call__(self, token: dict[str, Any], result: Any, facts: dict[str, Any]) -> None:
        if not self.enabled():
            return
        try:
            self._snapshot(token, result, facts)
        except (OSError, StoreError) as err:
            self.warn(f"notelock: {self._name(token)} not pinned: could not store a snapshot: {err}")

    @staticmethod
    def _name(token: dict[str, Any]) -> str:
        return str(token.get("path") or token.get("url") or (token.get("query") and "SQL result") or "read")

    def _snapshot(self, token: dict[str, Any], result: Any, facts: dict[str, Any]) -> None:
        source = token.get("_abs")
        if source and Path(source).is_file():
            size = token.get("bytes") or Path(source).stat().st_size
            if size > self.limit:
                self._too_big(token, size)
                return
            digest = self.store().put_file(source, expected=token.get("content"))
            if token.get("content") and digest != token["content"]:
                self.warn(f"notelock: {self._name(token)} not pinned: it changed while being read")
                return
            facts["snapshot"], facts["snapshot_format"] = digest, "file"
            return
        # a directory (partitioned dataset), a URL or a SQL query: pin the frame that was read
        if "buffer" in token:  # an in-memory buffer is the notebook's own data
            return
        pd = sys.modules.get("pandas")
        if pd is None or not isinstance(result, pd.DataFrame):
            self._snapshot_table(token, result, facts)  # Polars or Arrow
            return
        estimate = int(result.memory_usage(deep=False).sum())
        if estimate > self.limit:
            self._too_big(token, estimate)
            return
        data = frame_to_parquet(result)
        if len(data) > self.limit:
            self._too_big(token, len(data))
            return
        facts["snapshot"], facts["snapshot_format"] = self.store().put_bytes(data), "parquet"

    def _snapshot_table(self, token: dict[str, Any], result: Any, facts: dict[str, Any]) -> None:
        estimate = tables.estimated_bytes(result)
        if estimate is None:
            self._not_kept(token, result)
            return
        if estimate > self.limit:
            self._too_big(token, estimate)
            return
        made = tables.snapshot_bytes(result)
        if made is None:
            self._not_kept(token, result)
            return
        data, kind = made
        if len(data) > self.limit:
            self._too_big(token, len(data))
            return
        facts["snapshot"], facts["snapshot_format"] = self.store().put_bytes(data), kind

    def _not_kept(self, token: dict[str, Any], result: Any) -> None:
        """One line when a DuckDB result (or rows, arrays) has no snapshot form that gives it back exactly."""
        if pyvalues.is_python_result(result) or str(token.get("reader", "")).startswith("duckdb."):
            self.warn(f"notelock: {self._name(token)} not pinned: its result ({type(result).__name__}) holds "
                      "values notelock cannot snapshot with their exact types (recorded by hash only)")

    def _too_big(self, token: dict[str, Any], size: int) -> None:
        self.warn(f"notelock: {self._name(token)} not pinned: {format_size(size)} is over the snapshot "
                  f"limit of {format_size(self.limit)} (recorded by hash only; raise it with "
                  "NOTELOCK_SNAPSHOT_MAX_BYTES or %lock snapshot limit SIZE)")


def snapshot_digests(lock: dict[str, Any]) -> set[str]:
    """Every object a lock pins as a snapshot."""
    return {n["snapshot"] for n in lock.get("nodes", {}).values()
            if isinstance(n, dict) and isinstance(n.get("snapshot"), str)}


__all__ = ["SnapshotObserver", "read_snapshot", "frame_to_parquet", "snapshot_digests", "limit_from_env",
           "DEFAULT_LIMIT", "short"]
