"""Building the facts of read and estimator nodes from intercepted calls.

Pure functions: given a reader or estimator call (function, arguments,
result), produce the JSON fields the lock records. The recorder decides ids,
edges and where the node goes.
"""

from __future__ import annotations

import inspect
import io
import os
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import hashing, sql, tables
from .canonical import to_plain
from .delta import describe_table, is_delta_table
from .remote_reads import describe_url
from .secrets import redact_url

#: the parameter that names what a reader reads, by reader
SOURCE_PARAMS = {"read_sql": "sql", "read_sql_query": "sql", "read_sql_table": "table_name"}
SQL_READERS = ("pandas.read_sql", "pandas.read_sql_query", "pandas.read_sql_table")

FIT_METHODS = ("fit", "fit_transform", "fit_predict")
PREDICT_METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function")


def op_for_method(method: str) -> str:
    """The node kind of an estimator method."""
    if method in FIT_METHODS:
        return "fit"
    if method in PREDICT_METHODS:
        return "predict"
    return method  # transform, score


@lru_cache(maxsize=512)
def _signature(func: Callable) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


def bind_arguments(func: Callable, args: tuple, kwargs: dict) -> dict[str, Any]:
    """Arguments as the callee sees them, by parameter name (``**kwargs`` flattened).

    Only arguments the caller passed are kept: defaults belong to the library
    version, which the environment records.
    """
    target = getattr(func, "__func__", None)
    self_param = None
    if target is not None:  # a bound method: bind `self` too, then drop it
        sig = _signature(target)
        args = (func.__self__, *args)  # type: ignore[attr-defined]
    else:
        sig = _signature(func)
    if sig is None:
        return _positional_fallback(args, kwargs)
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError:  # the call itself will raise; record what we can
        return _positional_fallback(args, kwargs)
    if target is not None:
        self_param = next(iter(sig.parameters), None)
    out = {}
    for name, value in bound.arguments.items():
        param = bound.signature.parameters[name]
        if param.kind is param.VAR_KEYWORD:
            out.update(value)
        elif param.kind is param.VAR_POSITIONAL:
            for i, v in enumerate(value):
                out[f"{name}{i}"] = v
        elif name != self_param:
            out[name] = value
    return out


def _positional_fallback(args: tuple, kwargs: dict) -> dict[str, Any]:
    out: dict[str, Any] = {f"arg{i}": v for i, v in enumerate(args)}
    out.update(kwargs)
    return out


def plain_option(value: Any) -> Any:
    """A reader option as canonical JSON: plain values as is, the rest by content."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return to_plain(value)
    if isinstance(value, (list, tuple)):
        return [plain_option(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain_option(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((plain_option(v) for v in value), key=repr)
    if isinstance(value, type):
        return {"type": f"{value.__module__}.{value.__qualname__}"}
    dtype_name = _dtype_name(value)
    if dtype_name is not None:
        return {"dtype": dtype_name}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return {"hash": hashing.value_hash(value), "type": type(value).__name__}


def _dtype_name(value: Any) -> str | None:
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.dtype):
        return str(value)
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(value, pd.api.extensions.ExtensionDtype):
        return str(value)
    return None


# ---------------------------------------------------------------- read sources


def describe_source(source: Any, base_dir: Path | None,
                    defer: Callable[[Path], Any] | None = None, storage_options: Any = None) -> dict[str, Any]:
    """What a reader was asked to read: a local file (hashed), a URL, or a buffer.

    With *defer*, a file's hash is started as ``defer(path)`` (a future, under
    ``_content_future``) instead of computed here, so it can run while the
    reader parses: xxh3 releases the GIL.
    """
    if is_delta_table(source):  # DeltaTable.to_pandas(): the table at its loaded version
        return describe_table(source, base_dir)
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if "://" in text and not text.startswith("file://"):
            return describe_url(text, storage_options)  # url, version identity, content
        local = Path(text[len("file://"):] if text.startswith("file://") else text).expanduser()
        try:
            resolved = local.resolve()
        except OSError:
            resolved = local.absolute()
        if resolved.is_file():
            out = {"path": display_path(resolved, base_dir), "bytes": resolved.stat().st_size,
                   "_abs": str(resolved)}
            if defer is not None:
                out["_content_future"] = defer(resolved)
            else:
                out["content"] = hashing.hash_file(resolved)
            return out
        if resolved.is_dir():  # e.g. a partitioned parquet dataset
            return {"path": display_path(resolved, base_dir), "content": _hash_tree(resolved),
                    "_abs": str(resolved)}
        return {"path": display_path(resolved, base_dir)}
    if isinstance(source, (bytes, bytearray, memoryview)):
        return {"buffer": type(source).__name__, "content": hashing.hash_bytes(source)}
    return _describe_stream(source)


def _describe_stream(stream: Any) -> dict[str, Any]:
    if isinstance(stream, io.BytesIO):
        return {"buffer": "BytesIO", "content": hashing.hash_bytes(stream.getbuffer()[stream.tell():])}
    if isinstance(stream, io.StringIO):
        value = stream.getvalue()[stream.tell():]
        return {"buffer": "StringIO", "content": hashing.hash_bytes(value.encode("utf-8"))}
    name = getattr(stream, "name", None)
    seekable = getattr(stream, "seekable", None)
    if callable(seekable) and seekable():
        pos = stream.tell()
        try:
            data = stream.read()
        finally:
            stream.seek(pos)
        if isinstance(data, str):
            data = data.encode("utf-8")
        out = {"buffer": type(stream).__name__, "content": hashing.hash_bytes(data)}
        if isinstance(name, str):
            out["name"] = os.path.basename(name)
        return out
    return {"buffer": type(stream).__name__}


def _hash_tree(root: Path) -> str:
    entries = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        entries.append([path.relative_to(root).as_posix(), hashing.hash_file(path)])
    return hashing.hash_json(entries)


def display_path(path: Path, base_dir: Path | None) -> str:
    """*path* relative to the notebook's folder when inside it, else absolute (POSIX form)."""
    if base_dir is not None:
        try:
            return path.relative_to(base_dir.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def describe_connection(con: Any) -> str:
    """A connection as text with any password removed."""
    if isinstance(con, str):
        return redact_url(con)
    url = getattr(con, "url", None) or getattr(getattr(con, "engine", None), "url", None)
    if url is not None:
        render = getattr(url, "render_as_string", None)
        text = render(hide_password=True) if callable(render) else str(url)
        return redact_url(text)
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(con, sqlite3.Connection):
        try:
            rows = con.execute("PRAGMA database_list").fetchall()
            main = next((r[2] for r in rows if r[1] == "main"), "")
        except Exception:  # noqa: BLE001 - a closed or busy connection
            main = ""
        return "sqlite:///" + (os.path.basename(main) if main else ":memory:")
    return sql.describe_dbapi(con) or f"{type(con).__module__}.{type(con).__qualname__}"


def sql_text(sql: Any) -> str:
    """The text of a query given as a string or a SQLAlchemy selectable."""
    return sql if isinstance(sql, str) else str(sql)


# ---------------------------------------------------------------- frames


def frame_facts(frame: Any) -> dict[str, Any] | None:
    """Rows, columns and schema (names, dtypes, null counts) of a DataFrame
    (pandas here; Polars and Arrow in :mod:`notelock.core.tables`)."""
    pd = sys.modules.get("pandas")
    if pd is None or not isinstance(frame, pd.DataFrame):
        return tables.frame_facts(frame)
    columns = []
    for i, name in enumerate(frame.columns):
        col = frame.iloc[:, i]
        columns.append({"name": to_plain(name) if isinstance(name, (str, int, float, bool)) else str(name),
                        "dtype": str(col.dtype), "nulls": int(_null_count(col))})
    return {"rows": int(frame.shape[0]), "columns": int(frame.shape[1]), "schema": {"columns": columns}}


def _null_count(col: Any) -> int:
    arr = getattr(col.array, "_pa_array", None)
    if arr is not None:  # Arrow keeps the count; no scan needed
        try:
            if col.dtype.kind in "fc":  # NaN counts as missing for float columns
                return int(col.isna().sum())
            return int(arr.null_count)
        except Exception:  # noqa: BLE001
            pass
    kind = col.dtype.kind
    if kind in "iub":  # numpy ints and bools cannot hold a missing value
        return 0
    values = col.to_numpy(copy=False) if kind in "fcmM" and type(col.dtype).__module__ == "numpy" else None
    if values is not None:  # straight numpy: no pandas overhead
        import numpy as np

        return int(np.count_nonzero(np.isnat(values) if kind in "mM" else np.isnan(values)))
    return int(col.isna().sum())


def schema_id(schema: dict[str, Any]) -> str:
    """``schema_<12 hex>``, derived from the schema's content."""
    return "schema_" + hashing.hash_json(schema).split(":", 1)[1][:12]


def result_rows(value: Any) -> int | None:
    """Rows of an array-like result (predictions), else None."""
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and shape:
        try:
            return int(shape[0])
        except (TypeError, ValueError):
            return None
    return None
