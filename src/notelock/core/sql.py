"""Database connections and queries as a read records them.

* A PostgreSQL connection (psycopg 3, psycopg2, or a SQLAlchemy engine or
  connection on either) is described as ``postgresql://user@host:port/db``
  and its server as ``{"product", "version", "database", "user"}``, read from
  what the driver already knows (libpq's connection info, the dialect's
  ``server_version_info``): no query is sent to the server, and the password
  is never read.
* Before a PostgreSQL read, :func:`pg_table_stats` records what the server's
  statistics say of the tables the query reads (found in the server's own
  plan); a replay compares them with today's (:func:`table_changes`) and
  reports the server's word next to the content hash, which decides.
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
import weakref
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





# ---------------------------------------------------------------- PostgreSQL: has a table changed?
#
# Before a PostgreSQL read, the tables its query reads are taken from the
# server's own plan (EXPLAIN, which plans and runs nothing) and their counters
# from the cumulative statistics (pg_stat_all_tables: rows inserted, updated,
# deleted), with the relation's file node (TRUNCATE, VACUUM FULL and rewriting
# ALTER TABLEs give it a new one) and its columns. A replay compares them with
# today's (:func:`table_changes`). The statistics are the server's word, not
# the data: the read's content hash decides, and the report says when the two
# disagree. Only servers with cumulative statistics in shared memory
# (PostgreSQL 15 and later) and not in recovery (a standby counts nothing it
# replays) are asked.

_STATS_MIN_VERSION = 150000
#: a backend idle for longer than this has reported its counts (PostgreSQL 15+
#: flushes an idle backend's pending statistics within 10 s of it going idle)
_REPORTED_AFTER_S = 11
#: plan nodes whose data the statistics of the tables named in the plan do not cover
_OPAQUE_SCANS = ("Foreign Scan", "Custom Scan")
_FIRST_WORD = re.compile(r"^\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*([A-Za-z(]+)", re.DOTALL)
_CALLS = re.compile(r'(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))\s*\(')
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")

_SERVER_SQL = (
    "SELECT current_setting('server_version_num')::int, pg_is_in_recovery(),"
    " current_setting('track_counts')::bool, pg_postmaster_start_time()::text,"
    " (SELECT stats_reset::text FROM pg_stat_database WHERE datname = current_database()),"
    " (SELECT oid::bigint FROM pg_database WHERE datname = current_database()),"
    " set_config('statement_timeout', '5s', true), set_config('lock_timeout', '1s', true)")
_TABLES_SQL = (
    "SELECT n.nspname, c.relname, c.oid::bigint, c.relkind::text, pg_relation_filenode(c.oid)::bigint,"
    " s.n_tup_ins, s.n_tup_upd, s.n_tup_del, s.n_live_tup,"
    " ARRAY(SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
    "       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)"
    " FROM unnest(%(schemas)s::text[], %(names)s::text[]) AS r(nsp, rel)"
    " JOIN pg_namespace n ON n.nspname = r.nsp JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel"
    " LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid ORDER BY n.nspname, c.relname")
_OTHERS_SQL = (
    "SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    "        AND pid <> pg_backend_pid() AND backend_type NOT IN ('autovacuum worker', 'walsender')"
    "        AND (state IS DISTINCT FROM 'idle'"
    f"            OR state_change > clock_timestamp() - interval '{_REPORTED_AFTER_S} seconds')),"
    " (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
    "  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.proname = ANY(%(calls)s::text[]))")


class _Runner:
    """Statements on a PostgreSQL connection that leave the user's work alone:
    a connection of our own from a SQLAlchemy engine's pool, or, on a psycopg
    connection, our own transaction (or a savepoint inside the user's), always
    rolled back."""

    def __init__(self, run: Any, flushed: bool):
        self.run = run  # (sql, params) -> rows
        self.flushed = flushed  # whether this backend's own pending counts were reported first


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlalchemy_engine(con: Any) -> Any:
    if not type(con).__module__.startswith("sqlalchemy"):
        return None
    engine = con if hasattr(con, "raw_connection") else getattr(con, "engine", None)
    dialect = getattr(engine, "dialect", None)
    if dialect is None or dialect.name != "postgresql" or dialect.driver not in ("psycopg", "psycopg2"):
        return None
    version = getattr(dialect, "server_version_info", None)  # known once the engine has connected
    if version and tuple(version) < (15,):
        return None
    return engine


#: engines our own connection could not reach: not asked again (the read would wait twice)
_UNREACHABLE: weakref.WeakSet[Any] = weakref.WeakSet()


def _with_engine(engine: Any, work: Any) -> Any:
    if engine in _UNREACHABLE:
        return None
    try:
        c = engine.connect()
    except Exception:
        _UNREACHABLE.add(engine)
        raise
    with c:
        try:
            # our backend reports its own pending counts when it next goes idle, i.e. after this rollback
            c.exec_driver_sql("SELECT pg_stat_force_next_flush()")
            c.rollback()

            def run(statement: str, params: Any = None) -> list[tuple]:
                result = c.exec_driver_sql(statement, params) if params is not None else c.exec_driver_sql(statement)
                return [tuple(r) for r in result.fetchall()]

            return work(_Runner(run, flushed=True))
        finally:
            c.rollback()


def _with_psycopg(con: Any, work: Any) -> Any:
    import psycopg
    from psycopg import pq

    if not isinstance(con, psycopg.Connection):  # an AsyncConnection is not driven from here
        return None
    info = con.info
    if con.closed or info.pipeline_status != pq.PipelineStatus.OFF or info.server_version < _STATS_MIN_VERSION:
        return None
    status = info.transaction_status
    if status not in (pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS):
        return None  # a query running, or the user's transaction failed: leave it alone
    cur = con.cursor(row_factory=psycopg.rows.tuple_row)
    try:
        flushed = status == pq.TransactionStatus.IDLE
        if flushed:  # a transaction of our own: the backend reports its counts when it ends
            with con.transaction():
                cur.execute("SELECT pg_stat_force_next_flush()", prepare=False)
        found: list[Any] = []

        def run(statement: str, params: Any = None) -> list[tuple]:
            cur.execute(statement, params, prepare=False)
            return list(cur.fetchall())

        # outside a transaction ours, inside the user's a savepoint: rolled back either way
        with con.transaction():
            found.append(work(_Runner(run, flushed=flushed)))
            raise psycopg.Rollback()
        return found[0] if found else None
    finally:
        cur.close()


def pg_table_stats(con: Any, source: Any, params: Any = None, *, table: str | None = None,
                   schema: str | None = None) -> dict[str, Any] | None:
    """The server's change counters of the tables a PostgreSQL read reads, or None.

    *source* is the query as the reader got it (text, or a SQLAlchemy
    construct) with its *params*, or *table* (and *schema*) for
    ``read_sql_table``. Returns ``{"tables": [{"name", "oid", "filenode",
    "inserted", "updated", "deleted", "live", "columns"}], "complete",
    "server_started", "stats_reset", "database", "unreported"}``; None when
    the connection is not a PostgreSQL 15+ primary reached through psycopg,
    the query cannot be planned on its own, or anything goes wrong (the read
    itself is never affected). No password is read.
    """
    try:
        engine = _sqlalchemy_engine(con)
        if engine is not None:
            text, bound = _sqlalchemy_text(engine, source, params)
            return _with_engine(engine, lambda r: _collect(r, text, bound, table, schema))
        module = type(con).__module__
        if (module == "psycopg" or module.startswith("psycopg.")) and hasattr(con, "transaction"):
            text = source if isinstance(source, str) else None
            return _with_psycopg(con, lambda r: _collect(r, text, params, table, schema))
    except Exception:  # noqa: BLE001 - a hint only: no answer rather than a wrong one
        return None
    return None


def _sqlalchemy_text(engine: Any, source: Any, params: Any) -> tuple[str | None, Any]:
    if isinstance(source, str):
        return source, params
    compile_ = getattr(source, "compile", None)
    if compile_ is None:
        return None, None
    compiled = compile_(dialect=engine.dialect)
    bound = dict(compiled.params or {})
    if isinstance(params, dict):
        bound.update(params)
    elif params:
        return None, None
    return str(compiled), (bound or None)


def _plannable(text: str) -> bool:
    """A single query EXPLAIN can plan without running anything."""
    body = text.strip().rstrip(";").strip()
    if ";" in body:  # several statements (or a literal ';': not worth the risk)
        return False
    first = _FIRST_WORD.match(body)
    return first is not None and first.group(1).split("(")[0].upper() in ("SELECT", "WITH", "TABLE", "VALUES", "")


def _collect(run: _Runner, text: str | None, params: Any, table: str | None,
             schema: str | None) -> dict[str, Any] | None:
    version, recovery, counting, started, reset, database, *_ = run.run(_SERVER_SQL)[0]
    if version < _STATS_MIN_VERSION or recovery or not counting:
        return None
    run.run("SELECT pg_stat_clear_snapshot()")
    if table is None and isinstance(text, str) and _TABLE_NAME.match(text.strip()):
        schema, _, table = text.strip().rpartition(".")  # pd.read_sql('merchants', engine): a table
        schema = schema or None
    if table is not None:
        text, params = f"SELECT * FROM {_quote(schema) + '.' if schema else ''}{_quote(table)}", None
    if not isinstance(text, str) or not _plannable(text):
        return None
    statement = "EXPLAIN (FORMAT JSON, VERBOSE)\n" + text
    rows = run.run(statement, params) if params is not None else run.run(statement)
    plan = rows[0][0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    relations: dict[tuple[str, str], None] = {}
    calls: set[str] = set()
    complete = True
    for node in _walk(plan):
        if "Node Type" in node:
            if node["Node Type"] in _OPAQUE_SCANS:
                complete = False
            if node.get("Relation Name"):
                relations[(str(node.get("Schema") or "public"), str(node["Relation Name"]))] = None
        for value in node.values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str):
                    calls.update((q.replace('""', '"') if q else n) for q, n in _CALLS.findall(item))
    pairs = sorted(relations)
    found = run.run(_TABLES_SQL, {"schemas": [s for s, _ in pairs], "names": [n for _, n in pairs]})
    others, user_functions = run.run(_OTHERS_SQL, {"calls": sorted(calls)})[0]
    tables = []
    for nsp, rel, oid, kind, filenode, ins, upd, dele, live, columns in found:
        entry: dict[str, Any] = {"name": f"{nsp}.{rel}", "oid": int(oid), "filenode": filenode,
                                 "columns": list(columns)}
        if ins is not None and kind in ("r", "m", "t"):
            entry.update(inserted=int(ins), updated=int(upd), deleted=int(dele), live=int(live))
        tables.append(entry)
    if len(tables) != len(pairs) or user_functions:
        complete = False  # a relation not found again, or functions of the database's own that may read others
    return {"tables": tables, "complete": complete, "server_started": started, "stats_reset": reset,
            "database": int(database), "unreported": int(others) + (0 if run.flushed else 1)}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def table_changes(recorded: Any, current: Any) -> dict[str, Any] | None:
    """What the server's statistics say changed between the lock (*recorded*)
    and now (*current*), both :func:`pg_table_stats` facts.

    ``{"text": "server: table public.tx: 40 rows inserted, column score
    (double precision) added since the lock", "unchanged": False}``;
    ``unchanged`` is True only when every table the query reads is named in
    both plans, has the same identity, file node, columns and counters, and
    the statistics were neither reset nor lost since; None when the
    statistics cannot say. None when there is nothing to compare.
    """
    if not isinstance(recorded, dict) or not isinstance(current, dict):
        return None
    if recorded.get("server_started") != current.get("server_started"):
        return {"text": "server: its statistics cannot say (the server restarted since the lock)", "unchanged": None}
    if recorded.get("database") != current.get("database"):
        return {"text": "server: its statistics cannot say (the database was re-created since the lock)",
                "unchanged": None}
    if recorded.get("stats_reset") != current.get("stats_reset"):
        return {"text": "server: its statistics cannot say (they were reset since the lock)", "unchanged": None}
    before = {t["name"]: t for t in recorded.get("tables") or []}
    now = {t["name"]: t for t in current.get("tables") or []}
    parts: list[str] = []
    unchanged: bool | None = True
    for name in sorted(set(before) | set(now)):
        a, b = before.get(name), now.get(name)
        if a is None:
            parts.append(f"the query now also reads table {name}")
            unchanged = None
            continue
        if b is None:
            parts.append(f"the query no longer reads table {name}")
            unchanged = None
            continue
        said = _table_difference(a, b)
        if isinstance(said, str):  # the statistics cannot say
            parts.append(f"table {name}: {said}")
            unchanged = None
        elif said:
            parts.append(f"table {name}: {', '.join(said)} since the lock")
            unchanged = False if unchanged is not None else None
        else:
            parts.append(f"table {name}: no writes since the lock")
    if not parts:
        return None
    text = "server: " + "; ".join(parts)
    if not (recorded.get("complete") and current.get("complete")):
        text += " (the query may read data these tables' statistics do not cover)"
        unchanged = None if unchanged else unchanged
    pending = int(current.get("unreported") or 0)
    if unchanged and pending:
        text += (f" ({_plural(pending, 'session')} still open may not have reported "
                 f"{'its' if pending == 1 else 'their'} writes yet)")
    return {"text": text, "unchanged": unchanged}


def _table_difference(a: dict[str, Any], b: dict[str, Any]) -> list[str] | str:
    """The changes the server reports for one table ([] for none), or why it cannot say."""
    if "inserted" not in a or "inserted" not in b:
        return "no statistics"
    if a.get("oid") != b.get("oid"):
        return ["dropped and re-created"]
    out: list[str] = []
    deltas = [(b[k] - a[k], k) for k in ("inserted", "updated", "deleted")]
    if any(d < 0 for d, _ in deltas):
        return "its statistics went back (reset or lost)"
    counts = [(d, k) for d, k in deltas if d]
    said = [f"{_plural(d, 'row')} {k}" if i == 0 else f"{d} {k}" for i, (d, k) in enumerate(counts)]
    out.extend(said)
    if a.get("filenode") != b.get("filenode"):
        out.append("rewritten (TRUNCATE, VACUUM FULL, CLUSTER or a rewriting ALTER TABLE)")
    old, new = list(a.get("columns") or []), list(b.get("columns") or [])
    if old != new:
        names_old = {c.split(" ", 1)[0]: c for c in old}
        names_new = {c.split(" ", 1)[0]: c for c in new}
        added = [c for n, c in names_new.items() if n not in names_old]
        dropped = [c for n, c in names_old.items() if n not in names_new]
        retyped = [n for n in names_new if n in names_old and names_new[n] != names_old[n]]
        for what, items in (("added", added), ("dropped", dropped)):
            if items:
                shown = ", ".join(_column(c) for c in items)
                out.append(f"{'column' if len(items) == 1 else 'columns'} {shown} {what}")
        if retyped:
            out.append(f"{'column' if len(retyped) == 1 else 'columns'} {', '.join(retyped)} changed type")
        if not (added or dropped or retyped):
            out.append("columns reordered")
    return out


def _column(spec: str) -> str:
    name, _, kind = spec.partition(" ")
    return f"{name} ({kind})" if kind else name


__all__ = ["server_facts", "describe_dbapi", "redact_query", "duckdb_query_files", "duckdb_database_files",
           "pg_table_stats", "table_changes"]
