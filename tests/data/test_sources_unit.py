"""Polars and DuckDB reads through the fast layer: a core Session and its real
interceptors driven with a plain namespace (no kernel), on real files, a real
DuckDB database and a real SQLite one."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import duckdb
import jsonschema
import polars as pl
import pyarrow as pa
import pytest

from notelock.core import hashing, lockschema
from notelock.core.recorder import Session


def run(session: Session, code: str) -> dict:
    session.begin_cell("%%lock\n" + code, code, locked=True)
    exec(compile(code, "<cell>", "exec"), session.ns)  # noqa: S102 - the cell
    return session.end_cell(None, execution_count=len(session.cells) + 1)


@pytest.fixture
def session(tmp_path: Path) -> Session:
    os.chdir(tmp_path)
    pl.DataFrame({"id": [1, 2, 3], "v": [0.5, 1.5, 2.5]}).write_parquet(tmp_path / "a_1.parquet")
    pl.DataFrame({"id": [4, 5], "v": [3.5, 4.5]}).write_parquet(tmp_path / "a_2.parquet")
    return Session(tmp_path / "nb.lock.json", tmp_path / "nb.ipynb",
                   {"__name__": "__main__", "pl": pl, "duckdb": duckdb})


def read_nodes(session: Session) -> list[dict]:
    return [n for n in session.to_lock()["nodes"].values() if n["op"] == "read"]


def test_polars_computations_in_memory_are_not_reads(session: Session):
    run(session, "df = pl.DataFrame({'a': [3, 1, 2]})\nsmall = df.filter(pl.col('a') > 1).sort('a')\n"
                 "lazy = df.lazy().with_columns(b=pl.col('a') * 2).collect()\nj = df.join(small, on='a')")
    assert read_nodes(session) == []
    assert session.ns["lazy"]["b"].to_list() == [6, 2, 4]


def test_polars_read_database_is_a_sql_read(session: Session, tmp_path: Path):
    with closing(sqlite3.connect(tmp_path / "w.db")) as con:
        con.execute("CREATE TABLE t (x INTEGER, s TEXT)")
        con.executemany("INSERT INTO t VALUES (?, ?)", [(1, "a"), (2, None)])
        con.commit()
    session.ns["sqlite3"] = sqlite3
    run(session, "con = sqlite3.connect('w.db')\nt = pl.read_database('SELECT * FROM t ORDER BY x', con)")
    [node] = read_nodes(session)
    assert node["reader"] == "polars.read_database" and node["connection"] == "sqlite:///w.db"
    assert node["query"] == "SELECT * FROM t ORDER BY x"
    assert node["output"] == hashing.value_hash(session.ns["t"])
    session.ns["con"].close()


def test_duckdb_views_globs_parameters_and_urls(session: Session):
    run(session, "con = duckdb.connect()\n"
                 "con.execute(\"CREATE VIEW everything AS SELECT * FROM read_parquet('a_*.parquet')\")\n"
                 "via_view = con.sql('SELECT count(*) AS n FROM everything').fetchall()\n"
                 "name = 'a_1.parquet'\n"
                 "by_param = con.execute('SELECT sum(v) FROM read_parquet($1)', [name]).fetchall()\n"
                 "pending = con.execute('SELECT id FROM a_2.parquet ORDER BY id')\n"
                 "rows = pending.fetchall()")
    nodes = {n["query"]: n for n in read_nodes(session)}
    view = nodes["SELECT count(*) AS n FROM everything"]
    assert [f["path"] for f in view["files"]] == ["a_1.parquet", "a_2.parquet"]
    assert session.ns["via_view"] == [(5,)]
    param = nodes["SELECT sum(v) FROM read_parquet($1)"]
    assert param["sources_complete"] is False and "files" not in param
    assert param["options"] == {"params": ["a_1.parquet"]}
    assert session.ns["rows"] == [(4,), (5,)], "the pending result is the user's, untouched"
    assert [f["path"] for f in nodes["SELECT id FROM a_2.parquet ORDER BY id"]["files"]] == ["a_2.parquet"]


def test_duckdb_remote_sources_are_listed_without_credentials():
    from notelock.core import sql

    found = sql.duckdb_query_files("SELECT * FROM read_parquet('s3://AKIAEXAMPLE:hunter2@bucket/x.parquet')")
    assert found["files"] == [] and "hunter2" not in str(found) and found["urls"]


def test_arrow_stream_results_are_read_once_and_handed_on_whole(session: Session):
    run(session, "reader = duckdb.sql(\"SELECT * FROM 'a_*.parquet' ORDER BY id\").arrow()")
    result = session.ns["reader"]
    table = result.read_all() if isinstance(result, pa.RecordBatchReader) else result
    assert table.column("id").to_pylist() == [1, 2, 3, 4, 5]
    [node] = read_nodes(session)
    assert node["output"] == hashing.value_hash(table) and node["rows"] == 5


def test_originals_are_back_after_the_cell_and_the_lock_validates(session: Session):
    originals = (pl.LazyFrame.__dict__["collect"], duckdb.DuckDBPyRelation.__dict__["df"],
                 duckdb.DuckDBPyConnection.__dict__["execute"], duckdb.sql)
    run(session, "t = duckdb.sql(\"SELECT * FROM 'a_1.parquet'\").df()\nl = pl.scan_parquet('a_2.parquet').collect()")
    assert (pl.LazyFrame.__dict__["collect"], duckdb.DuckDBPyRelation.__dict__["df"],
            duckdb.DuckDBPyConnection.__dict__["execute"], duckdb.sql) == originals
    lock = session.to_lock()
    jsonschema.validate(lock, lockschema.schema())
    assert len(read_nodes(session)) == 2


def test_an_eager_polars_read_of_a_glob_hashes_every_file(session: Session, tmp_path: Path):
    run(session, "both = pl.read_parquet('a_*.parquet')\none = pl.read_parquet('a_1.parquet', columns=['id'])")
    glob_read, single = sorted(read_nodes(session), key=lambda n: "path" in n)
    assert glob_read["query"] == "a_*.parquet"
    assert [(f["path"], f["content"]) for f in glob_read["files"]] == [
        (p, hashing.hash_file(tmp_path / p)) for p in ("a_1.parquet", "a_2.parquet")]
    assert glob_read["rows"] == 5
    assert single["path"] == "a_1.parquet" and single["options"] == {"columns": ["id"]}
    assert single["content"] == hashing.hash_file(tmp_path / "a_1.parquet")


def test_credentials_written_in_a_duckdb_query_stay_out_of_the_lock(session: Session, tmp_path: Path):
    # the query is built from values the cell does not spell out (its source holds no secret)
    session.ns.update(url="postgresql://analyst:hunter2@db/fraud", kw="dbname=fraud password=hunter3")
    run(session, "dsn = duckdb.sql(f\"SELECT '{url}' AS url, '{kw}' AS kw\").fetchall()")
    assert session.ns["dsn"] == [("postgresql://analyst:hunter2@db/fraud", "dbname=fraud password=hunter3")]
    [node] = read_nodes(session)
    assert "hunter2" not in node["query"] and "hunter3" not in node["query"] and "analyst" in node["query"]
    session.write()
    text = (tmp_path / "nb.lock.json").read_text()
    assert "hunter2" not in text and "hunter3" not in text
