"""Reads made through Polars and DuckDB, and the facts of SQL reads' servers.

The interceptors route these calls here through the recorder
(:meth:`Session.before_read`); this module turns each into the token the
recorder makes a read node of:

* ``polars.LazyFrame.collect`` called by notebook code: the lazy plan is the
  read's ``query`` (its unoptimised ``explain()`` text) and the files the
  plan scans are hashed as the read's inputs (``files``). Polars' eager
  readers (``polars.read_csv``…) are file reads like pandas' and take the
  recorder's usual path; ``polars.read_database`` is a SQL read.
* DuckDB: ``duckdb.sql/query/execute`` and a connection's
  ``execute/sql/query`` are *noted* (query, parameters, connection) and
  recorded nowhere; fetching the result (``.df() .fetchdf() .pl() .arrow()
  .fetchall() .fetchnumpy()`` on the relation or the connection) is the read.
  The files named in the SQL and the connection's database files are hashed
  as its inputs (see :func:`notelock.core.sql.duckdb_query_files` for how
  they are found, and its limits).

A read with inputs has as ``content`` the hash of its inputs' contents and of
its result, so changing a file it read changes its id even when the result
is the same; ``output`` is the result's hash, which a replay compares.
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
import warnings
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import hashing, nodes, secrets, sql

_NOTE_METHODS = ("sql", "query", "execute")
#: queries noted, by the id of the relation or connection they went to
#: (the object is held, so that its id stays its own)
_NOTES: OrderedDict[int, tuple[Any, dict[str, Any]]] = OrderedDict()
_MAX_NOTES = 64


def _first(args: tuple, kwargs: dict, *names: str) -> Any:
    if args:
        return args[0]
    for name in names:
        if name in kwargs:
            return kwargs[name]
    return None


def describe(reader: str, func: Callable, args: tuple, kwargs: dict, base_dir: Path,
             defer: Callable[[Path], Any] | None = None) -> dict[str, Any] | None:
    """The token of a Polars or DuckDB read (or a DuckDB query note); None for
    readers the recorder describes itself. With *defer*, the input files'
    hashes are started as ``defer(path)`` (futures, taken by :func:`settle`
    once the read returned), so they are hashed while the query runs."""
    module, _, method = reader.rpartition(".")
    if reader.startswith("duckdb."):
        if method in _NOTE_METHODS:
            return _note(reader, func, args, kwargs)
        return _duckdb_fetch(reader, getattr(func, "__self__", None), base_dir, defer)
    if reader == "polars.LazyFrame.collect":
        return _polars_collect(reader, func.__self__, kwargs, base_dir, defer)  # type: ignore[attr-defined]
    if module == "polars" and method.startswith("read_") and not method.startswith("read_database"):
        return _polars_many_files(reader, func, args, kwargs, base_dir, defer)
    if reader in ("polars.read_database", "polars.read_database_uri"):
        query = _first(args, kwargs, "query")
        con = args[1] if len(args) > 1 else kwargs.get("connection", kwargs.get("uri"))
        options = {k: v for k, v in kwargs.items() if k not in ("query", "connection", "uri")}
        return {"reader": reader, "query": sql.redact_query(secrets.redact_source(nodes.sql_text(query))[0]),
                "connection": nodes.describe_connection(con), "options": _options(options), "_con": con}
    return None


def _options(values: dict[str, Any]) -> dict[str, Any]:
    return secrets.redact_options({k: nodes.plain_option(v) for k, v in sorted(values.items())})


# ---------------------------------------------------------------- DuckDB


def _note(reader: str, func: Callable, args: tuple, kwargs: dict) -> dict[str, Any]:
    con = getattr(func, "__self__", None)
    if con is None:  # duckdb.sql(...): the module's default connection
        duckdb = sys.modules.get("duckdb")
        default = getattr(duckdb, "default_connection", None)
        con = default() if callable(default) else default
    params = args[1] if len(args) > 1 else kwargs.get("parameters", kwargs.get("params"))
    return {"reader": reader, "_note": {"query": _first(args, kwargs, "query"), "params": params, "con": con}}


def remember(token: dict[str, Any], result: Any) -> None:
    """Keep a noted query for the object it returned (a relation, or the connection)."""
    note = token["_note"]
    if result is None or not isinstance(note.get("query"), str):
        return
    _NOTES[id(result)] = (result, note)
    _NOTES.move_to_end(id(result))
    while len(_NOTES) > _MAX_NOTES:
        _NOTES.popitem(last=False)


def forget() -> None:
    """Drop the queries noted while a cell ran (the relations and connections
    they hold are released): a query made in one cell and fetched in a later
    one is described by the relation's own SQL, or as ``?`` for a connection."""
    _NOTES.clear()


def _noted(obj: Any) -> dict[str, Any] | None:
    found = _NOTES.get(id(obj))
    return found[1] if found is not None and found[0] is obj else None


def _duckdb_fetch(reader: str, obj: Any, base_dir: Path, defer: Callable[[Path], Any] | None) -> dict[str, Any]:
    note = _noted(obj) or {}
    query = note.get("query")
    con = note.get("con")
    if query is None and hasattr(obj, "sql_query"):  # a relation built in Python (rel.filter(...))
        try:
            query = obj.sql_query()
        except Exception:  # noqa: BLE001
            query = None
    if con is None and type(obj).__name__ == "DuckDBPyConnection":
        con = obj
    text = sql.redact_query(secrets.redact_source(query)[0]) if isinstance(query, str) else "?"
    found: dict[str, Any] = (sql.duckdb_query_files(query, con) if isinstance(query, str)
                             else {"files": [], "urls": [], "complete": False})
    databases = sql.duckdb_database_files(con)
    token: dict[str, Any] = {"reader": reader, "query": text, "connection": _duckdb_connection(databases, base_dir),
                             "options": _options({"params": note["params"]} if note.get("params") is not None else {})}
    token["_files"] = [_file(Path(p), base_dir, defer) for p in found["files"]]
    token["_databases"] = [_file(p, base_dir, defer) for p in databases]
    extra: dict[str, Any] = {}
    if found["urls"]:
        extra["urls"] = found["urls"]
    if not found["complete"]:
        extra["sources_complete"] = False
    token["_facts"] = extra
    if reader.endswith(".arrow"):
        token["_post"] = _stream_rebuilt(token, _duckdb_major() >= 2)
    return token


def _duckdb_major() -> int:
    version = str(getattr(sys.modules.get("duckdb"), "__version__", "0"))
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def _stream_rebuilt(token: dict[str, Any], stream: bool) -> Callable[[Any], Any]:
    """DuckDB 2's ``.arrow()`` returns a RecordBatchReader, which can be read
    only once: read it into a table (recorded as the read's value) and hand the
    user an equal reader over that table. A snapshot (a table) served in its
    place is handed on as such a reader too when *stream*."""

    def post(result: Any) -> Any:
        pa = sys.modules.get("pyarrow")
        if pa is None or not isinstance(result, (pa.RecordBatchReader, pa.Table)):
            return result
        if isinstance(result, pa.Table) and not stream:
            return result  # DuckDB 1: a table
        table = result.read_all() if isinstance(result, pa.RecordBatchReader) else result
        token["_value"] = table
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())

    return post


def _duckdb_connection(databases: list[Path], base_dir: Path) -> str:
    if not databases:
        return "duckdb:///:memory:"
    return "duckdb:///" + nodes.display_path(databases[0].resolve(), base_dir)


def _file(path: Path, base_dir: Path, defer: Callable[[Path], Any] | None = None) -> dict[str, Any]:
    resolved = path.expanduser().resolve()
    if not resolved.is_file():
        return {"path": nodes.display_path(resolved, base_dir)}
    out: dict[str, Any] = {"path": nodes.display_path(resolved, base_dir), "bytes": resolved.stat().st_size}
    if defer is not None:
        out["_future"] = defer(resolved)
    else:
        out["content"] = hashing.hash_file(resolved)
    return out


def settle(token: dict[str, Any]) -> None:
    """Wait for the input files' hashes a deferred :func:`describe` started."""
    for key in ("_files", "_databases"):
        for f in token.get(key) or ():
            future = f.pop("_future", None)
            if future is not None:
                f["content"] = future.result()


# ---------------------------------------------------------------- Polars


def _polars_collect(reader: str, lf: Any, kwargs: dict, base_dir: Path,
                    defer: Callable[[Path], Any] | None) -> dict[str, Any]:
    try:
        plan = polars_plan_text(lf)
    except Exception:  # noqa: BLE001 - a plan Polars cannot print
        plan = "?"
    files, scans = polars_plan_sources(lf)
    if not scans:  # a plan over frames already in memory: a computation, not a read
        return {"reader": reader, "_skip": True}
    return {"reader": reader, "query": plan, "connection": "polars", "options": _options(dict(kwargs)),
            "_files": [_file(Path(p), base_dir, defer) for p in files], "_databases": [], "_facts": {}}


#: lines of Polars' plan text that describe the data, not the query (they
#: change when a source is backfilled, which must not make it another query)
_DATA_LINES = re.compile(r"^\s*(PROJECT \S+ COLUMNS|ESTIMATED ROWS: .*)$")


def polars_plan_text(lf: Any) -> str:
    """A lazy query as text: its unoptimised plan, without the lines that
    describe the data it scans (column counts, estimated rows)."""
    lines = lf.explain(optimized=False).splitlines()
    return "\n".join(line for line in lines if not _DATA_LINES.match(line))


def polars_plan_files(lf: Any) -> list[str]:
    """The local files a LazyFrame's plan scans (globs expanded), in plan order."""
    return polars_plan_sources(lf)[0]


def polars_plan_sources(lf: Any) -> tuple[list[str], bool]:
    """(local files the plan scans, whether it scans any source at all: files,
    URLs, or a plan Polars cannot show)."""
    try:
        with warnings.catch_warnings():  # the JSON form is deprecated, but the only one that names every path
            warnings.simplefilter("ignore")
            plan = json.loads(lf.serialize(format="json"))
    except Exception:  # noqa: BLE001 - no JSON plan in this Polars version: assume it reads
        return [], True
    names: list[str] = []
    scans = False
    stack: list[Any] = [plan]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            scans = scans or "Scan" in item
            for key, value in item.items():
                if key in ("paths", "Paths") and isinstance(value, list):
                    # a path is a string, or {"inner": path} in newer plans
                    for entry in value:
                        name = entry.get("inner") if isinstance(entry, dict) else entry
                        if isinstance(name, str):
                            names.append(name)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(reversed(item))
    out: dict[str, None] = {}
    for name in names:
        if "://" in name and not name.startswith("file://"):
            continue
        path = name[len("file://"):] if name.startswith("file://") else name
        for match in (sorted(glob.glob(path, recursive=True)) if glob.has_magic(path) else [path]):
            out[match] = None
    return list(out), scans or bool(names)


def _polars_many_files(reader: str, func: Callable, args: tuple, kwargs: dict,
                       base_dir: Path, defer: Callable[[Path], Any] | None) -> dict[str, Any] | None:
    """An eager Polars read of a glob or a list of files: each file hashed as an
    input, the pattern as the read's query; a single file takes the usual path."""
    source = _first(args, kwargs, "source")
    if isinstance(source, (list, tuple)) and source and all(isinstance(s, (str, os.PathLike)) for s in source):
        names = [os.fspath(s) for s in source]
    elif isinstance(source, str) and glob.has_magic(source) and "://" not in source:
        names = [source]
    else:
        return None
    files: dict[str, None] = {}
    for name in names:
        for match in (sorted(glob.glob(str(name), recursive=True)) if glob.has_magic(str(name)) else [str(name)]):
            files[match] = None
    bound = nodes.bind_arguments(func, args, kwargs)
    bound.pop(next(iter(bound), ""), None)  # the source itself
    return {"reader": reader, "query": " ".join(str(n) for n in names), "connection": "polars",
            "options": _options(bound), "_files": [_file(Path(p), base_dir, defer) for p in files],
            "_databases": [], "_facts": {}}


# ---------------------------------------------------------------- after the read


def finish(token: dict[str, Any], output: str) -> dict[str, Any]:
    """The facts a read adds for its inputs and server; sets ``content`` of a
    read with inputs (unless a replay already pinned it)."""
    facts: dict[str, Any] = dict(token.get("_facts") or {})
    files = token.get("_files")
    if files is not None:
        databases = token.get("_databases") or []
        if "content" not in token:
            token["content"] = hashing.hash_json({
                "files": [[f["path"], f.get("content")] for f in files],
                "databases": [[f["path"], f.get("content")] for f in databases],
                "result": output})
        if files:
            facts["files"] = files
        if databases:
            facts["databases"] = databases
    con = token.get("_con")
    if con is not None:
        server = sql.server_facts(con)
        if server:
            facts["server"] = server
    if token.get("_table_stats"):
        facts["table_stats"] = token["_table_stats"]
    return facts


__all__ = ["describe", "remember", "forget", "finish", "polars_plan_files", "polars_plan_sources"]
