"""Replay mode: the kernel side of ``notelock replay``.

In a replay kernel (``NOTELOCK_REPLAY`` names a plan written by the replay
driver) :class:`ReplayPins` subscribes to the session's reads and pins them
to the data the lock recorded: a read whose source changed is served from its
snapshot, or reported as drift and stopped when there is none. What happened
is appended, one JSON object per line, to the plan's events file, which the
driver follows.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core import hashing, nodes, sql
from ..core import schema as schemas
from ..core.delta import version_reader
from ..core.errors import DriftError, LockFileError, NotelockError, ReplayStopped
from ..core.remote_reads import pinned_source
from ..core.remote_store import open_store
from ..core.snapshots import read_parquet_snapshot
from ..core.store import Store, store_for
from ..core.tables import read_snapshot_file


def load_plan(path: str) -> dict[str, Any]:
    """The replay plan the driver wrote (one-line error if it cannot be read)."""
    try:
        plan = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise LockFileError(f"replay plan {path}: unreadable: {err}") from None
    if not isinstance(plan, dict):
        raise LockFileError(f"replay plan {path}: not a JSON object")
    return plan


class ReplayPins:
    """Pins a replay's reads to the data the lock recorded."""

    def __init__(self, plan: dict[str, Any], session: Any):
        self.reads: list[dict[str, Any]] = plan.get("reads", [])
        self.mode: str = plan.get("mode", "pinned")
        self.lock_path: str = plan.get("lock", "")
        self.events: str | None = plan.get("events")
        self.store_root: str | None = plan.get("store")
        self.session = session
        self.cursor = 0
        self._store: Store | None = None

    def emit(self, event: dict[str, Any]) -> None:
        """Append one event for the replay command."""
        if not self.events:
            return
        with open(self.events, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event, default=str) + "\n")

    def match(self, token: dict[str, Any]) -> dict[str, Any] | None:
        """The recorded read this read replays: the next one with the same reader and source."""
        key = schemas.source_key(token)
        for i in range(self.cursor, len(self.reads)):
            entry = self.reads[i]
            if entry.get("reader") == token.get("reader") and (key is None or entry.get("key") == key):
                self.cursor = i + 1
                return entry
        return None

    def snapshot_path(self, entry: dict[str, Any]) -> Path:
        """The verified store object holding *entry*'s snapshot (StoreError if missing)."""
        if self._store is None:
            # the recorded lock's store, as the replay command resolved it
            self._store = open_store(self.store_root) if self.store_root else store_for(Path(self.lock_path))
        return Path(self._store.path(entry["snapshot"]))

    def policy(self, token: dict[str, Any], func: Callable, args: tuple, kwargs: dict) -> None:
        """Read policy: serve a drifted input from its snapshot (pinned mode)."""
        entry = self.match(token)
        if entry is None:
            return
        token["_replay"] = entry
        if self.mode == "pinned" and self._pin_by_version_or_copy(token, entry, func, args, kwargs):
            return
        if self.mode != "pinned":
            return
        if "content" in token and token.get("query") is None:
            if token["content"] == entry.get("content"):
                return
            current = _safe_call(func, args, kwargs)
            token["_current"] = current
            if entry.get("snapshot"):
                path = self._snapshot_or_stop(entry)
                token["call"] = _replace_source(func, args, kwargs, str(path))
                token["content"] = entry.get("content")
                token["_served"] = True
            else:
                token["_drifted"] = True
            return
        if token.get("query") is not None:  # SQL: the content is the result; read it first
            pins = self

            def serve() -> Any:
                if entry.get("snapshot") and _inputs_changed(token, entry):
                    # files the read hashed changed: the recorded result stands for them
                    # (today's result may not even exist: a scan over files that no longer agree)
                    token["_current"] = _safe_call(func, args, kwargs)
                    token["_served"] = True
                    token["content"] = entry.get("content")
                    return _read_snapshot(pins._snapshot_or_stop(entry), entry)
                try:
                    result = func(*args, **kwargs)
                except Exception:
                    if not entry.get("snapshot"):
                        raise
                    # the database is not there (a pack replayed elsewhere): serve what was read
                    path = pins._snapshot_or_stop(entry)
                    token["_served"] = token["_missing"] = True
                    return _read_snapshot(path, entry)
                post = token.get("_post")
                if post is not None:  # a stream: hash the table it was read into
                    result = post(result)
                # the result's hash (for SQL reads also the content; a read that
                # hashes its source files too has them in its content)
                if hashing.hash_value(token.get("_value", result)).digest == (entry.get("output") or entry.get("content")):
                    return result
                token["_current"] = result
                if entry.get("snapshot"):
                    path = pins._snapshot_or_stop(entry)
                    token["_served"] = True
                    if token.get("_files") is not None:  # the inputs the snapshot stands for
                        token["content"] = entry.get("content")
                    return _read_snapshot(path, entry)
                token["_drifted"] = True
                return result

            token["serve"] = serve

    def _pin_by_version_or_copy(self, token: dict[str, Any], entry: dict[str, Any], func: Callable,
                                args: tuple, kwargs: dict) -> bool:
        """Pin a Delta read to its recorded table version, a remote read to its
        snapshot or recorded object version, and a file that is gone on this
        machine to its snapshot. True when the read is handled here."""
        if token.get("query") is not None or token.get("content") == entry.get("content"):
            return False
        if entry.get("delta"):
            reader = version_reader(token, entry, func, args, kwargs)
            if reader is None:
                return False
            token["_current"] = _safe_call(func, args, kwargs)  # today's table, to describe the drift
            token["serve"] = self._stopping(entry, reader)
            token["_served"] = f"Delta version {entry['delta']['version']}"
        elif "url" in token and entry.get("url") and ("content" in token or entry.get("remote")):
            # an object-store read (its content and version are known before reading);
            # an http(s) read is run and judged by what it returned
            token["_current"] = _safe_call(func, args, kwargs)
            if entry.get("snapshot"):
                path = self._snapshot_or_stop(entry)  # the frame read, as Parquet
                token["serve"] = lambda: _read_snapshot(path, entry)
                token["_served"] = True
            elif (pinned := self._recorded_version(token, entry, kwargs)) is not None:
                # no copy, but the object store keeps the version the lock read
                source, options = pinned
                call_args, call_kwargs = _replace_source(func, args, kwargs, source)
                token["call"] = (call_args, {**call_kwargs, "storage_options": options})
                token["_served"] = f"the recorded version {entry['remote']['version_id']}"
            else:
                token["_drifted"] = True
                return True
        elif "path" in token and "content" not in token and entry.get("snapshot_format") == "file":
            # the file is not on this machine: the snapshot is the input
            token["call"] = _replace_source(func, args, kwargs, str(self._snapshot_or_stop(entry)))
            token["_served"] = token["_missing"] = True
        else:
            return False
        token["content"] = entry.get("content")
        return True

    @staticmethod
    def _recorded_version(token: dict[str, Any], entry: dict[str, Any],
                          kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        source = token.get("_source")
        recorded = entry.get("remote")
        if not isinstance(source, str) or not isinstance(recorded, dict):
            return None
        return pinned_source(source, recorded, kwargs.get("storage_options"))

    def _stopping(self, entry: dict[str, Any], read: Callable[[], Any]) -> Callable[[], Any]:
        """*read*, reporting a pinned input that cannot be read to the driver (exit 2)."""
        def serve() -> Any:
            try:
                return read()
            except ReplayStopped as err:
                self.emit({"event": "store_error", "node": entry.get("node"), "message": str(err)})
                raise
        return serve

    def _snapshot_or_stop(self, entry: dict[str, Any]) -> Path:
        try:
            return self.snapshot_path(entry)
        except NotelockError as err:
            self.emit({"event": "store_error", "node": entry.get("node"), "message": str(err)})
            raise ReplayStopped(str(err)) from None

    def observe(self, token: dict[str, Any], result: Any, facts: dict[str, Any]) -> None:
        """Read observer: report drift (with the schema change) at the read."""
        entry = token.get("_replay")
        if entry is None:
            return
        served = bool(token.get("_served"))
        if self.mode == "pinned":
            drifted = served or bool(token.get("_drifted"))
        elif token.get("query") is None and "content" in token:
            drifted = token["content"] != entry.get("content")
        else:
            drifted = facts.get("output") != entry.get("output")
        # PostgreSQL: what the server's statistics say of the tables read (a hint; the hash decides)
        server = sql.table_changes(entry.get("table_stats"), token.get("_table_stats"))
        if server is not None:
            if not drifted:
                server["text"] += "; the result's hash agrees"
            elif server["unchanged"]:
                server["text"] += ", but the result's hash differs: the hash decides"
            else:
                server["text"] += "; the result's hash differs"
        if not drifted:
            if server is not None:
                self.emit({"event": "read", "node": entry.get("node"), "position": entry.get("position"),
                           "drifted": False, "served": False, "diverged": False, "server": server})
            return
        current = token.get("_current", result)
        frame = nodes.frame_facts(current) if current is not None else None
        if frame is not None:
            change = schemas.compare(entry.get("schema"), entry.get("rows"), frame["schema"], frame["rows"])
        else:
            change = schemas.compare(entry.get("schema"), entry.get("rows"), entry.get("schema"), entry.get("rows"))
        text = schemas.message(entry.get("label") or schemas.source_label(token), change)
        if token.get("_missing"):
            text = f"{entry.get('label') or schemas.source_label(token)}: source not available"
        elif server is not None:
            text += f" — {server['text']}"
        diverged = not served
        how = token["_served"] if isinstance(token.get("_served"), str) else None
        self.emit({"event": "read", "node": entry.get("node"), "position": entry.get("position"),
                   "drifted": True, "served": served, "diverged": diverged, "schema": change, "message": text,
                   **({"from": how} if how else {}), **({"server": server} if server is not None else {})})
        if served:
            self.session.warn(f"notelock: {text}: replayed from {how or 'snapshot'}")
            return
        if self.mode == "pinned":
            raise DriftError(f"{text}; no snapshot to replay it from (record with %%lock --snapshot)")
        self.session.warn("notelock: " + text)


def _inputs_changed(token: dict[str, Any], entry: dict[str, Any]) -> bool:
    """Whether a read's input files (Polars plans, DuckDB queries) differ from the recorded ones."""
    if token.get("_files") is None:
        return False

    def listed(files: Any) -> list[tuple[Any, Any]]:
        return [(f.get("path"), f.get("content")) for f in files or []]

    return (listed(token.get("_files")) != listed(entry.get("files"))
            or listed(token.get("_databases")) != listed(entry.get("databases")))


def _safe_call(func: Callable, args: tuple, kwargs: dict) -> Any:
    try:
        return func(*args, **kwargs)
    except Exception:  # noqa: BLE001 - only used to describe the drift
        return None


def _replace_source(func: Callable, args: tuple, kwargs: dict, source: str) -> tuple[tuple, dict]:
    if args:
        return (source, *args[1:]), dict(kwargs)
    short = getattr(func, "__name__", "")
    param = nodes.SOURCE_PARAMS.get(short)
    if param is None:
        try:
            param = next(iter(inspect.signature(func).parameters))
        except (TypeError, ValueError, StopIteration):
            param = "filepath_or_buffer"
    return args, {**kwargs, param: source}


def _read_snapshot(path: Path, entry: dict[str, Any]) -> Any:
    """A result snapshot as the value the reader returned (pandas, Polars or Arrow)."""
    table = read_snapshot_file(path, entry.get("snapshot_format"))
    return table if table is not None else read_parquet_snapshot(path)


__all__ = ["ReplayPins", "load_plan"]
