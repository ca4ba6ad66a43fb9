"""DuckDB queries in a real kernel: fetching a result is a read node with the
query, the files its SQL reads and the database file hashed, the result's hash
and schema; the real ``notelock replay`` reproduces it, from the snapshot when
a Parquet file it read changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from data.helpers import assert_replays_reproduced, lock_in, reads_by_reader, replay_json, run
from notelock.core import hashing

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

TOTALS = ("SELECT merchant, sum(amount) AS total FROM read_parquet('tx_*.parquet') "
          "GROUP BY merchant ORDER BY merchant")
CELLS = (
    "%load_ext notelock",
    "%%lock --snapshot\nimport duckdb\ncon = duckdb.connect('warehouse.duckdb', read_only=True)\n"
    f"totals = con.sql({TOTALS!r}).df()\n"
    "big = con.execute(\"SELECT count(*) FROM 'tx_1.parquet' WHERE amount > ?\", [3]).fetchall()\n"
    "sample = duckdb.sql(\"SELECT * FROM 'tx_*.parquet' ORDER BY id LIMIT 5\").pl()\n"
    "limits = con.sql('SELECT * FROM limits ORDER BY merchant').arrow()\n"
    "print(big)",
    "%%lock\nprint(limits.read_all().num_rows)",
)


def tx(ids: range) -> pl.DataFrame:
    return pl.DataFrame({"id": list(ids), "merchant": [f"m{i % 4}" for i in ids],
                         "amount": [float(i % 7) for i in ids]})


def sources(folder: Path) -> None:
    tx(range(0, 50)).write_parquet(folder / "tx_1.parquet")
    tx(range(50, 120)).write_parquet(folder / "tx_2.parquet")
    with duckdb.connect(str(folder / "warehouse.duckdb")) as con:
        con.execute("CREATE TABLE limits AS SELECT * FROM (VALUES ('m0', 10.0), ('m1', 20.0)) t(merchant, cap)")


@pytest.fixture(scope="module")
def locked(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("duck")
    sources(folder)
    lock = lock_in(folder, "duck", CELLS)
    return folder, lock


def test_each_fetch_is_a_read_with_its_query_files_and_database(locked):
    folder, lock = locked
    found = reads_by_reader(lock)
    assert set(found) == {"duckdb.DuckDBPyRelation.df", "duckdb.DuckDBPyConnection.fetchall",
                          "duckdb.DuckDBPyRelation.pl", "duckdb.DuckDBPyRelation.arrow"}
    _, totals = found["duckdb.DuckDBPyRelation.df"]
    assert totals["query"] == TOTALS
    assert totals["connection"] == "duckdb:///warehouse.duckdb"
    assert [(f["path"], f["content"]) for f in totals["files"]] == [
        (p, hashing.hash_file(folder / p)) for p in ("tx_1.parquet", "tx_2.parquet")]
    assert [d["path"] for d in totals["databases"]] == ["warehouse.duckdb"]
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        expected = con.sql(TOTALS.replace("tx_*", str(folder / "tx_*"))).df()
    assert totals["output"] == hashing.value_hash(expected)
    assert lock["schemas"][totals["schema"]]["columns"][1] == {"name": "total", "dtype": "float64", "nulls": 0}
    assert totals["snapshot_format"] == "parquet"
    _, count = found["duckdb.DuckDBPyConnection.fetchall"]
    assert count["options"] == {"params": [3]} and [f["path"] for f in count["files"]] == ["tx_1.parquet"]
    assert count["output"] == hashing.value_hash([(sum(1 for i in range(50) if i % 7 > 3),)])
    _, sample = found["duckdb.DuckDBPyRelation.pl"]
    assert sample["connection"] == "duckdb:///:memory:" and sample["snapshot_format"] == "polars-ipc"
    assert lock["schemas"][sample["schema"]]["columns"][0] == {"name": "id", "dtype": "Int64", "nulls": 0}
    _, limits = found["duckdb.DuckDBPyRelation.arrow"]
    assert "files" not in limits and limits["snapshot_format"] == "arrow-ipc"


def test_replay_reproduces(locked):
    folder, _ = locked
    assert_replays_reproduced(folder)


def test_a_changed_parquet_file_changes_the_read_id_and_replays_from_snapshot(locked, tmp_path):
    folder, lock = locked
    work = tmp_path / "work"
    shutil.copytree(folder, work)
    tx(range(50, 130)).with_columns(merchant_risk_score=pl.lit(None, pl.Float64)).write_parquet(work / "tx_2.parquet")
    code, report = replay_json(work, "original.lock.json")
    assert code == 0, report
    assert {v["verdict"] for v in report["verdicts"]} == {"reproduced"}
    served = [v for v in report["verdicts"] if "replayed from snapshot" in v.get("detail", "")]
    assert len(served) == 2, report["verdicts"]  # the two queries over tx_*.parquet
    code, current = replay_json(work, "original.lock.json", "--against-current", "--out", "current.lock.json")
    assert code == 1
    diverged = {v["label"] for v in current["verdicts"] if v["op"] == "read" and v["verdict"] == "DIVERGED"}
    # the LIMIT 5 sample reads the same rows from today's files: only the totals differ
    assert len(diverged) == 1 and next(iter(diverged)).startswith("df SELECT merchant"), current["verdicts"]
    relocked = run(work / "duck.ipynb")
    old, new = reads_by_reader(lock), reads_by_reader(relocked)
    assert new["duckdb.DuckDBPyRelation.df"][0] != old["duckdb.DuckDBPyRelation.df"][0]
    assert new["duckdb.DuckDBPyConnection.fetchall"][0] == old["duckdb.DuckDBPyConnection.fetchall"][0]
    assert new["duckdb.DuckDBPyRelation.arrow"][0] == old["duckdb.DuckDBPyRelation.arrow"][0]
