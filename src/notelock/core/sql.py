"""Database connections and queries as a read records them.

* A PostgreSQL connection (psycopg 3, psycopg2, or a SQLAlchemy engine or
  connection on either) is described as ``postgresql://user@host:port/db``
  and its server as ``{"product", "version", "database", "user"}``, read from
  what the driver already knows (libpq's connection info, the dialect's
  ``server_version_info``): no query is sent to the server, and the password
  is never read.
* A DuckDB query names the files it reads inside its SQL (``read_parquet``,
  ``read_csv``, ``FROM 'data/*.parquet'``…): :func:`duckdb_query_files`
  finds them in DuckDB's own parse of the query (``json_serialize_sql``) and
  expands globs; the database files a DuckDB connection has attached come
  from ``duckdb_databases()``.
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any

from .secrets import REDACTED, redact_url

#: DuckDB table functions that read the files named by their first argument
_FILE_FUNCTIONS = ("read_", "parquet_scan", "delta_scan", "iceberg_scan", "sniff_csv")


# ---------------------------------------------------------------- servers


def _pg_version(number: int) -> str:
    """libpq's integer server version as text: 150004 → ``15.4``, 90624 → ``9.6.24``."""
    if number >= 100000:
        return f"{number // 10000}.{number % 10000}"
    return f"{number // 10000}.{number // 100 % 100}.{number % 100}"


def _dbapi_of(con: Any) -> Any:
    """The DB-API connection under a SQLAlchemy Connection, if one is open."""
    raw = getattr(con, "connection", None)  # sqlalchemy.engine.Connection → pool proxy
    return getattr(raw, "dbapi_connection", None) or getattr(raw, "driver_connection", None)


def _libpq_info(con: Any) -> Any:
    """psycopg's ``ConnectionInfo`` of *con* (a psycopg 3 or psycopg2 connection), else None."""
    module = type(con).__module__ or ""
    if not module.startswith(("psycopg", "psycopg2")):
        return None
    return getattr(con, "info", None)


def server_facts(con: Any) -> dict[str, Any] | None:
    """What a read records about the database server behind *con*, or None.

    ``{"product": "PostgreSQL", "version": "15.4", "database": "fraud",
    "user": "analyst"}``; keys the driver does not know are left out.
    """
    info = _libpq_info(con) or _libpq_info(_dbapi_of(con))
    if info is not None:
        out: dict[str, Any] = {"product": "PostgreSQL"}
        try:
            number = int(info.server_version)
            if number:
                out["version"] = _pg_version(number)
            out["database"] = str(info.dbname)
            out["user"] = str(info.user)
        except Exception:  # noqa: BLE001 - a closed connection still gets described
            pass
        return out
    url = getattr(con, "url", None) or getattr(getattr(con, "engine", None), "url", None)
    dialect = getattr(con, "dialect", None) or getattr(getattr(con, "engine", None), "dialect", None)
    if url is None or dialect is None:
        return None
    product = {"postgresql": "PostgreSQL", "sqlite": "SQLite", "mysql": "MySQL"}.get(dialect.name, dialect.name)
    out = {"product": product}
    version = getattr(dialect, "server_version_info", None)
    if version:
        out["version"] = ".".join(str(v) for v in version)
    if url.database:
        out["database"] = os.path.basename(url.database) if dialect.name == "sqlite" else url.database
    if url.username:
        out["user"] = url.username
    return out


def describe_dbapi(con: Any) -> str | None:
    """A raw PostgreSQL connection as a URL without its password, else None."""
    info = _libpq_info(con)
    if info is None:
        return None
    try:
        host, port, dbname, user = info.host, info.port, info.dbname, info.user
    except Exception:  # noqa: BLE001 - closed
        return "postgresql://"
    where = "" if not host or str(host).startswith("/") else str(host)
    if port and where:
        where += f":{port}"
    return redact_url(f"postgresql://{user}@{where}/{dbname}")


# ---------------------------------------------------------------- query text

#: credentials a query can carry in its text: a URL's user:password@, a libpq
#: keyword DSN's password=…, a DuckDB secret's KEY_ID/SECRET/TOKEN '…'
_URL_CREDENTIALS = re.compile(r"\b([a-z][a-z0-9+.-]*://)([^/\s'\"@]+)@", re.IGNORECASE)
_DSN_PASSWORD = re.compile(r"\b(password\s*=\s*)('[^']*'|[^\s'\"]+)", re.IGNORECASE)
_SECRET_PARAMS = re.compile(
    r"\b(KEY_ID|SECRET|SESSION_TOKEN|TOKEN|PASSWORD|ACCOUNT_KEY|CONNECTION_STRING|CLIENT_SECRET|BEARER_TOKEN)"
    r"(\s+)'[^']*'", re.IGNORECASE)


def redact_query(text: str) -> str:
    """*text* (a query already through :func:`secrets.redact_source`) without the
    credentials a SQL string can carry itself."""

    def url(m: re.Match[str]) -> str:
        user = m.group(2).split(":", 1)[0]
        return f"{m.group(1)}{user}:{REDACTED}@" if ":" in m.group(2) else f"{m.group(1)}{REDACTED}@"

    text = _URL_CREDENTIALS.sub(url, text)
    text = _DSN_PASSWORD.sub(lambda m: m.group(1) + REDACTED, text)
    return _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}{m.group(2)}'{REDACTED}'", text)


# ---------------------------------------------------------------- DuckDB


def _walk(node: Any) -> Any:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _constant_strings(arg: Any) -> list[str] | None:
    """The text of a constant VARCHAR (or a list of them) in DuckDB's parse tree."""
    if not isinstance(arg, dict):
        return None
    if "expression" in arg and "class" not in arg:  # DuckDB 2: a named argument
        return _constant_strings(arg["expression"])
    if arg.get("class") == "CONSTANT":
        literal = arg.get("literal")  # DuckDB 2
        if isinstance(literal, dict):
            return [literal["text"]] if literal.get("kind") == "STRING" and isinstance(literal.get("text"), str) else None
        value = arg.get("value") or {}  # DuckDB 1
        if value.get("is_null") or not isinstance(value.get("value"), str):
            return None
        return [value["value"]]
    if arg.get("class") == "FUNCTION" and arg.get("function_name") in ("list_value", "array_value"):
        out: list[str] = []
        for child in _arguments(arg):
            texts = _constant_strings(child)
            if texts is None:
                return None
            out.extend(texts)
        return out
    return None


def _arguments(func: dict[str, Any]) -> list[Any]:
    """A function's arguments in DuckDB's parse tree (``children`` in DuckDB 1, ``arguments`` in 2)."""
    return list(func.get("arguments") or func.get("children") or [])


def _named_sources(tree: Any) -> tuple[list[str], list[str], bool]:
    """(file names or globs, table names, whether some file argument was not a literal)."""
    files: list[str] = []
    tables: list[str] = []
    unknown = False
    for node in _walk(tree):
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            func = node.get("function") or {}
            name = str(func.get("function_name", "")).lower()
            if not name.startswith(_FILE_FUNCTIONS):
                continue
            children = _arguments(func)
            texts = _constant_strings(children[0]) if children else None
            if texts is None:
                unknown = True
            else:
                files.extend(texts)
        elif kind == "BASE_TABLE":
            name = str(node.get("table_name", ""))
            dotted = ".".join(str(p) for p in (node.get("catalog_name"), node.get("schema_name"), name) if p)
            if dotted != name:
                # FROM tx.parquet (unquoted) parses as schema "tx", table "parquet";
                # DuckDB's replacement scan reads the file of that name when there is one
                (files if os.path.isfile(dotted) else tables).append(dotted if os.path.isfile(dotted) else name)
            elif any(c in name for c in "./*") or "://" in name:  # a replacement scan: FROM 'x.parquet'
                files.append(name)
            else:
                tables.append(name)
    return files, tables, unknown


_SCRATCH: list[Any] = []  # one in-memory DuckDB connection for parsing, made on first use
_SCRATCH_LOCK = threading.Lock()


def _parse(duckdb: Any, query: str) -> Any | None:
    try:
        with _SCRATCH_LOCK:  # parsing only; never the user's connection
            if not _SCRATCH:
                _SCRATCH.append(duckdb.connect())
            row = _SCRATCH[0].execute("SELECT json_serialize_sql(?)", [query]).fetchone()
        tree = json.loads(row[0])
    except Exception:  # noqa: BLE001 - not a statement DuckDB can serialise
        return None
    return None if tree.get("error") else tree


def duckdb_query_files(query: str, con: Any = None) -> dict[str, Any]:
    """The files a DuckDB query names: ``{"files": [...], "urls": [...], "complete": bool}``.

    ``files`` are local paths (globs expanded, sorted, each once); ``urls``
    remote sources (credentials removed). Views of *con* are followed into
    their own SQL. ``complete`` is false when DuckDB could not serialise the
    statement or a file argument was not a literal (a parameter, an
    expression): the read's result hash still covers what was read.
    """
    duckdb = sys.modules.get("duckdb")
    if duckdb is None:
        return {"files": [], "urls": [], "complete": False}
    views = _views(con)
    pending, seen_views = [query], set()
    names: list[str] = []
    complete = True
    while pending:
        tree = _parse(duckdb, pending.pop())
        if tree is None:
            complete = False
            continue
        files, tables, unknown = _named_sources(tree)
        complete = complete and not unknown
        names.extend(files)
        for table in tables:
            if table in views and table not in seen_views:
                seen_views.add(table)
                pending.append(views[table])
    local: dict[str, None] = {}
    urls: dict[str, None] = {}
    for name in names:
        if "://" in name and not name.startswith("file://"):
            urls[redact_url(name)] = None
            continue
        path = name[len("file://"):] if name.startswith("file://") else name
        matches = sorted(glob.glob(path, recursive=True)) if glob.has_magic(path) else [path]
        for match in matches:
            local[match] = None
    return {"files": list(local), "urls": list(urls), "complete": complete}


def _views(con: Any) -> dict[str, str]:
    if con is None:
        return {}
    try:
        cursor = con.cursor()  # a new cursor: the connection's pending result is left alone
        try:
            rows = cursor.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall()
        finally:
            cursor.close()
    except Exception:  # noqa: BLE001 - a closed connection
        return {}
    out = {}
    for name, text in rows:
        body = _VIEW_BODY.match(str(text or ""))
        if body:
            out[str(name)] = body.group(1).rstrip().rstrip(";")
    return out


#: the query of a view, from the ``CREATE VIEW name AS query;`` DuckDB keeps
_VIEW_BODY = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?VIEW\s+.+?\s+AS\s+(.*)$",
                        re.IGNORECASE | re.DOTALL)


def duckdb_database_files(con: Any) -> list[Path]:
    """The database files attached to a DuckDB connection (none for ``:memory:``)."""
    if con is None:
        return []
    try:
        cursor = con.cursor()
        try:
            rows = cursor.execute(
                "SELECT path FROM duckdb_databases() WHERE NOT internal AND path IS NOT NULL").fetchall()
        finally:
            cursor.close()
    except Exception:  # noqa: BLE001
        return []
    return [Path(r[0]) for r in rows if r[0] and Path(r[0]).is_file()]


__all__ = ["server_facts", "describe_dbapi", "redact_query", "duckdb_query_files", "duckdb_database_files"]
