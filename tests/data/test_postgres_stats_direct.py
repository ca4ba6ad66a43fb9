"""The PostgreSQL change signal against a real server, called directly (no
kernel): which tables a query reads, what the statistics say after the
changes that matter, that "no writes" is never said bare while a session may
hold unreported writes, and that the user's connection is left as it was."""

from __future__ import annotations

import time

import psycopg
import pytest
from psycopg import pq
from sqlalchemy import create_engine

from notelock.core.sql import pg_table_stats, table_changes


def connect(pg: dict, **kw) -> psycopg.Connection:
    return psycopg.connect(host=pg["host"], port=pg["port"], user=pg["user"], password=pg["password"],
                           dbname=pg["database"], **kw)


@pytest.fixture
def db(postgres):
    with connect(postgres, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS st_events, st_plain CASCADE; DROP FUNCTION IF EXISTS st_count()")
        con.execute("CREATE TABLE st_plain (id int, label text)")
        con.execute("INSERT INTO st_plain SELECT i, 'x' FROM generate_series(1, 20) i")
        con.execute("CREATE TABLE st_events (day date, n int) PARTITION BY RANGE (day)")
        con.execute("CREATE TABLE st_events_01 PARTITION OF st_events FOR VALUES FROM ('2025-01-01') TO ('2025-02-01')")
        con.execute("INSERT INTO st_events VALUES ('2025-01-05', 1), ('2025-01-06', 2)")
        con.execute("CREATE FUNCTION st_count() RETURNS bigint LANGUAGE plpgsql STABLE"
                    " AS $$ BEGIN RETURN (SELECT count(*) FROM st_events); END $$")
    engine = create_engine(postgres["url"])
    yield postgres, engine
    engine.dispose()


def names(stats: dict) -> list[str]:
    return [t["name"] for t in stats["tables"]]


def test_changes_that_write_nothing_row_by_row_are_named(db):
    pg, engine = db
    before = pg_table_stats(engine, "SELECT * FROM st_plain ORDER BY id")
    assert names(before) == ["public.st_plain"] and before["tables"][0]["inserted"] == 20
    with connect(pg, autocommit=True) as con:
        con.execute("TRUNCATE st_plain")
        con.execute("ALTER TABLE st_plain ADD COLUMN score int DEFAULT 7")  # a fast default: no rewrite
    said = table_changes(before, pg_table_stats(engine, "SELECT * FROM st_plain ORDER BY id"))
    assert said["unchanged"] is False
    assert "rewritten (TRUNCATE" in said["text"] and "column score (integer) added" in said["text"], said


def test_a_partition_attached_later_is_a_table_the_query_now_reads(db):
    pg, engine = db
    query = "SELECT sum(n) FROM st_events WHERE day >= '2025-01-01'"
    before = pg_table_stats(engine, query)
    assert names(before) == ["public.st_events_01"]
    with connect(pg, autocommit=True) as con:
        con.execute("CREATE TABLE st_events_02 (day date, n int)")
        con.execute("INSERT INTO st_events_02 VALUES ('2025-02-03', 5)")
        con.execute("ALTER TABLE st_events ATTACH PARTITION st_events_02 FOR VALUES FROM ('2025-02-01') TO ('2025-03-01')")
    said = table_changes(before, pg_table_stats(engine, query))
    assert said["unchanged"] is None
    assert "the query now also reads table public.st_events_02" in said["text"]
    assert "table public.st_events_01: no writes since the lock" in said["text"]


def test_a_function_of_the_database_makes_the_table_list_incomplete(db):
    """(A SQL function the planner inlines shows in the plan as what it computes.)"""
    _, engine = db
    assert pg_table_stats(engine, "SELECT id FROM st_plain")["complete"] is True
    stats = pg_table_stats(engine, "SELECT id, st_count() FROM st_plain")  # reads st_events unseen
    assert stats["complete"] is False
    assert table_changes(stats, stats)["unchanged"] is None


def test_no_writes_is_never_said_bare_while_a_writer_may_not_have_reported(db):
    pg, engine = db
    before = pg_table_stats(engine, "SELECT * FROM st_plain")
    with connect(pg, autocommit=True) as writer:
        writer.execute("INSERT INTO st_plain VALUES (99, 'late')")
        said = table_changes(before, pg_table_stats(engine, "SELECT * FROM st_plain"))  # the writer is still open
        if said["unchanged"]:
            assert "still open may not have reported" in said["text"], said
        else:
            assert said["text"] == "server: table public.st_plain: 1 row inserted since the lock", said
    time.sleep(0.5)  # a session that ends reports its counts
    said = table_changes(before, pg_table_stats(engine, "SELECT * FROM st_plain"))
    assert said == {"text": "server: table public.st_plain: 1 row inserted since the lock", "unchanged": False}


@pytest.mark.parametrize("autocommit", [False, True])
def test_a_raw_connection_is_left_in_the_state_it_was(db, autocommit):
    pg, _ = db
    with connect(pg, autocommit=autocommit) as con:
        assert con.info.transaction_status == pq.TransactionStatus.IDLE
        assert names(pg_table_stats(con, "SELECT * FROM st_plain WHERE id > %s", [3])) == ["public.st_plain"]
        assert con.info.transaction_status == pq.TransactionStatus.IDLE
        if autocommit:
            return
        con.execute("INSERT INTO st_plain VALUES (500, 'mine')")  # the user's open transaction
        stats = pg_table_stats(con, "SELECT * FROM st_plain")
        assert stats["unreported"] >= 1  # its own counts could not be reported first
        assert pg_table_stats(con, "SELECT no_such_column FROM st_plain") is None  # fails inside a savepoint
        assert con.info.transaction_status == pq.TransactionStatus.INTRANS
        assert con.execute("SELECT count(*) FROM st_plain WHERE id = 500").fetchone() == (1,)  # still there
        con.rollback()
        with pytest.raises(psycopg.errors.DivisionByZero):
            con.execute("SELECT 1/0")
        assert con.info.transaction_status == pq.TransactionStatus.INERROR
        assert pg_table_stats(con, "SELECT * FROM st_plain") is None  # a failed transaction is not touched
        assert con.info.transaction_status == pq.TransactionStatus.INERROR
        con.rollback()


def test_only_a_single_query_is_ever_planned(db):
    pg, engine = db
    assert pg_table_stats(engine, "SELECT 1; DELETE FROM st_plain") is None
    assert pg_table_stats(engine, "DELETE FROM st_plain") is None
    with connect(pg) as con:
        assert con.execute("SELECT count(*) FROM st_plain").fetchone() == (20,)


def test_a_table_by_name_and_schema(db):
    _, engine = db
    assert names(pg_table_stats(engine, None, table="st_plain", schema="public")) == ["public.st_plain"]
    assert names(pg_table_stats(engine, "st_plain")) == ["public.st_plain"]  # pd.read_sql('st_plain', engine)
    assert pg_table_stats(engine, None, table="no_such_table") is None
