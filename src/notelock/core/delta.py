"""Reads of Delta Lake tables, identified by table version.

``DeltaTable(path).to_pandas()`` (and ``to_pyarrow_table``) inside ``%%lock``
records, beside the usual read facts:

* ``path``: the table's location (relative to the notebook when local; a URL
  without credentials otherwise);
* ``delta``: the table's ``version``, its ``table_id`` and how many data
  files that version has;
* ``content``: the hash of the table id and the version's data files. Delta
  never rewrites a data file in place, so the set of files *is* the content
  of a version, and no extra pass over the data is needed.

A replay reads the version the lock recorded (``DeltaTable(uri,
version=N)``, Delta's time travel) instead of needing a snapshot copy. When
that version can no longer be read (``vacuum`` removed its files, or log
cleanup its commit), the replay stops with a one-line error naming the table
and the version (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ReplayStopped
from .hashing import hash_json
from .secrets import redact_url


def is_delta_table(value: Any) -> bool:
    """Whether *value* is a ``deltalake.DeltaTable``."""
    klass = type(value)
    return klass.__name__ == "DeltaTable" and klass.__module__.split(".", 1)[0] == "deltalake"


def _location(uri: str, base_dir: Path | None) -> str:
    if uri.startswith("file://") or "://" not in uri:
        local = Path(uri[len("file://"):] if uri.startswith("file://") else uri).resolve()
        if base_dir is not None:
            try:
                return local.relative_to(base_dir.resolve()).as_posix()
            except ValueError:
                pass
        return local.as_posix()
    return redact_url(uri.rstrip("/"))


def describe_table(table: Any, base_dir: Path | None) -> dict[str, Any]:
    """``path``, ``delta`` and ``content`` of a read of *table* at its loaded version."""
    uri = str(table.table_uri)
    root = uri[len("file://"):] if uri.startswith("file://") else uri
    files = sorted(f[len(root):].lstrip("/") if f.startswith(root) else f.rsplit("/", 1)[-1]
                   for f in (str(u) for u in table.file_uris()))
    table_id = str(table.metadata().id)
    return {"path": _location(uri, base_dir),
            "delta": {"version": int(table.version()), "table_id": table_id, "files": len(files)},
            "content": hash_json({"table": table_id, "files": files})}


def version_reader(token: dict[str, Any], entry: dict[str, Any], func: Callable, args: tuple,
                   kwargs: dict) -> Callable[[], Any] | None:
    """A read of the version *entry* recorded, for a replay (None if *token* is not a Delta read).

    The returned callable raises :class:`ReplayStopped` naming the table and
    the version when that version can no longer be read.
    """
    recorded = entry.get("delta")
    if not isinstance(recorded, dict) or not args or not is_delta_table(args[0]):
        return None
    table, version = args[0], int(recorded["version"])
    label = entry.get("label") or token.get("path") or "Delta table"

    def read() -> Any:
        klass = type(table)
        options = getattr(table, "_storage_options", None) or None
        try:
            pinned = klass(table.table_uri, version=version, storage_options=options)
            return func(pinned, *args[1:], **kwargs)
        except Exception as err:  # noqa: BLE001 - deltalake raises its own kinds and FileNotFoundError
            gone = "vacuumed: its data files are gone" if isinstance(err, FileNotFoundError) else \
                "its commit is no longer in the log"
            raise ReplayStopped(f"Delta table {label}: version {version} the lock recorded cannot be read "
                                f"({gone}); record it with %%lock --snapshot to keep a copy") from None

    return read


__all__ = ["is_delta_table", "describe_table", "version_reader"]

