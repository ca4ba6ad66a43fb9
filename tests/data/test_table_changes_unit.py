"""How the drift report words what PostgreSQL's statistics say of the tables a
read reads (:func:`notelock.core.sql.table_changes`), and when it says
nothing: the statistics only claim "no writes" when every table is known on
both sides with the same identity, file node, columns and counters, and the
statistics were neither reset nor lost in between."""

from __future__ import annotations

import copy

from notelock.core.sql import _plannable, table_changes


def facts(**table) -> dict:
    entry = {"name": "public.tx", "oid": 16385, "filenode": 16385, "inserted": 300, "updated": 0, "deleted": 0,
             "live": 300, "columns": ["id integer", "amount double precision"]}
    entry.update(table)
    return {"tables": [entry], "complete": True, "server_started": "2026-12-01 10:00:00+00", "stats_reset": None,
            "database": 5, "unreported": 0}


def test_no_change():
    assert table_changes(facts(), facts()) == {"text": "server: table public.tx: no writes since the lock",
                                               "unchanged": True}


def test_rows_and_columns():
    now = facts(inserted=340, updated=113, columns=["id integer", "amount double precision", "score double precision"])
    assert table_changes(facts(), now) == {
        "text": "server: table public.tx: 40 rows inserted, 113 updated, column score (double precision) added "
                "since the lock", "unchanged": False}
    assert table_changes(facts(), facts(deleted=1))["text"] == "server: table public.tx: 1 row deleted since the lock"
    dropped = table_changes(facts(), facts(columns=["id integer"]))
    assert dropped["text"].endswith("column amount (double precision) dropped since the lock")
    retyped = table_changes(facts(), facts(columns=["id bigint", "amount double precision"]))
    assert "column id changed type" in retyped["text"] and retyped["unchanged"] is False


def test_truncate_and_recreate():
    assert "rewritten (TRUNCATE" in table_changes(facts(), facts(filenode=16400))["text"]
    assert "dropped and re-created" in table_changes(facts(), facts(oid=17000, filenode=17000))["text"]


def test_the_statistics_cannot_say():
    for now, why in ((dict(server_started="2026-12-02 08:00:00+00"), "restarted"),
                     (dict(stats_reset="2026-12-02 08:00:00+00"), "reset"),
                     (dict(database=6), "re-created")):
        said = table_changes(facts(), {**facts(), **now})
        assert said["unchanged"] is None and why in said["text"], said
    went_back = table_changes(facts(), facts(inserted=10))
    assert went_back == {"text": "server: table public.tx: its statistics went back (reset or lost)", "unchanged": None}
    no_stats = copy.deepcopy(facts())
    for key in ("inserted", "updated", "deleted", "live"):
        del no_stats["tables"][0][key]
    assert table_changes(facts(), no_stats) == {"text": "server: table public.tx: no statistics", "unchanged": None}


def test_other_tables_or_an_incomplete_plan_never_claim_unchanged():
    more = facts()
    more["tables"].append({**more["tables"][0], "name": "public.tx_2026_02", "oid": 1, "filenode": 1})
    said = table_changes(facts(), more)
    assert said["unchanged"] is None and "the query now also reads table public.tx_2026_02" in said["text"]
    assert table_changes(more, facts())["unchanged"] is None
    partial = {**facts(), "complete": False}
    said = table_changes(facts(), partial)
    assert said["unchanged"] is None and "statistics do not cover" in said["text"]


def test_sessions_that_may_not_have_reported_are_named():
    said = table_changes(facts(), {**facts(), "unreported": 2})
    assert said["unchanged"] is True
    assert said["text"].endswith("(2 sessions still open may not have reported their writes yet)")


def test_nothing_to_compare():
    assert table_changes(None, facts()) is None and table_changes(facts(), None) is None


def test_only_single_queries_are_planned():
    assert _plannable("SELECT 1") and _plannable("  -- c\n/* x */ WITH a AS (SELECT 1) SELECT * FROM a;")
    assert _plannable("(SELECT 1) UNION (SELECT 2)") and _plannable("TABLE tx") and _plannable("VALUES (1)")
    assert not _plannable("SELECT 1; DELETE FROM tx")
    assert not _plannable("DELETE FROM tx") and not _plannable("CALL refresh()") and not _plannable("SHOW ALL")
