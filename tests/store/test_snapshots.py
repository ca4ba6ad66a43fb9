"""%%lock --snapshot in a real kernel: pinned inputs survive upstream changes."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

from notelock.core.hashing import hash_file, hash_json
from notelock.core.lockfile import load_lock
from notelock.core.snapshots import read_snapshot
from notelock.core.store import store_for

pytestmark = pytest.mark.kernel

ORIGINAL = pd.DataFrame({"date": ["2025-01-02", "2025-02-03", "2024-12-30"],
                         "amount": [12.5, 80.0, 3.25], "is_fraud": [0, 1, 0]})


def _read_nodes(lock: dict) -> dict[str, dict]:
    return {n["reader"]: n for n in lock["nodes"].values() if n["op"] == "read"}


def test_snapshots_of_csv_and_sql_survive_overwrite_and_backfill(kernel, tmp_path: Path):
    ORIGINAL.to_csv(tmp_path / "transactions.csv", index=False)
    with closing(sqlite3.connect(tmp_path / "fraud.db")) as con:
        ORIGINAL.to_sql("transactions", con, index=False)
        con.commit()
    kernel.ok("import pandas as pd, sqlite3")
    out = kernel.ok("%%lock --snapshot\n"
                    "df = pd.read_csv('transactions.csv')\n"
                    "con = sqlite3.connect('fraud.db')\n"
                    "recent = pd.read_sql_query(\"SELECT * FROM transactions WHERE date >= '2025-01-01'\", con)\n"
                    "con.close()")
    assert "not pinned" not in out["stderr"]
    lock_path = tmp_path / "scratch.lock.json"
    reads = _read_nodes(load_lock(lock_path))
    csv_node, sql_node = reads["pandas.read_csv"], reads["pandas.read_sql_query"]
    assert csv_node["snapshot_format"] == "file" and csv_node["snapshot"] == csv_node["content"]
    assert sql_node["snapshot_format"] == "parquet"
    # snapshots are facts: the identity is what it would be without them
    for node in (csv_node, sql_node):
        ident = {k: node[k] for k in ("op", "reader", "options", "content", "query", "connection", "inputs")
                 if k in node}
        assert hash_json(ident) == node["identity"]

    # upstream moves on: the file is overwritten, the table gains a nullable
    # column and backfilled rows
    pd.DataFrame({"date": ["2025-03-01"], "amount": [1.0], "is_fraud": [1]}).to_csv(
        tmp_path / "transactions.csv", index=False)
    with closing(sqlite3.connect(tmp_path / "fraud.db")) as con:
        con.execute("ALTER TABLE transactions ADD COLUMN merchant_risk_score REAL")
        con.execute("INSERT INTO transactions VALUES ('2025-01-15', 99.0, 1, NULL)")
        con.execute("INSERT INTO transactions VALUES ('2025-01-16', 5.0, 0, 0.7)")
        con.commit()

    store = store_for(lock_path)
    for node in (csv_node, sql_node):
        assert hash_file(store.path(node["snapshot"])) == node["snapshot"]
    pd.testing.assert_frame_equal(read_snapshot(store, csv_node), ORIGINAL)
    expected_recent = ORIGINAL[ORIGINAL.date >= "2025-01-01"].reset_index(drop=True)
    pd.testing.assert_frame_equal(read_snapshot(store, sql_node), expected_recent)


def test_reads_over_the_limit_are_recorded_by_hash_only_with_a_warning(kernel_factory, tmp_path: Path):
    ORIGINAL.to_csv(tmp_path / "t.csv", index=False)
    kernel = kernel_factory(env={"NOTELOCK_SNAPSHOT_MAX_BYTES": "10"})
    kernel.ok("%load_ext notelock\nimport pandas as pd")
    out = kernel.ok("%lock snapshot on")
    assert "snapshots on" in out["stdout"]
    out = kernel.ok("%%lock\ndf = pd.read_csv('t.csv')")
    assert "t.csv not pinned" in out["stderr"] and "over the snapshot limit" in out["stderr"]
    [node] = _read_nodes(load_lock(tmp_path / "scratch.lock.json")).values()
    assert "snapshot" not in node and node["content"]
