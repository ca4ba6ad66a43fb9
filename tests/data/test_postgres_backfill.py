"""The seed incident on a real PostgreSQL server: a notebook reads the warehouse
through SQLAlchemy (psycopg) and a raw psycopg connection; upstream backfills
rows into the past and adds a nullable ``merchant_risk_score``; the real
``notelock replay`` reproduces from snapshots, ``--against-current`` names the
change, both next to what the server's statistics say of each table read, and
the connection's password is in no file and no message."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from sqlalchemy import create_engine

from data.helpers import PASSWORD, notelock, reads, run, write_notebook
from notelock.core import hashing

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

LABEL = "FROM transactions WHERE date >= '2025-01"
QUERY = "SELECT * FROM transactions WHERE date >= '2025-01-01' ORDER BY id"
CELLS = (
    "%load_ext notelock",
    "%%lock --snapshot\nimport os\nimport pandas as pd\nimport psycopg\nfrom sqlalchemy import create_engine, text\n"
    "port = os.environ['WAREHOUSE_PORT']\n"
    "engine = create_engine(f\"postgresql+psycopg://analyst:{os.environ['WAREHOUSE_PASSWORD']}@127.0.0.1:{port}/fraud\")\n"
    f"tx = pd.read_sql({QUERY!r}, engine)\n"
    "recent = pd.read_sql_query(text('SELECT id, amount FROM transactions WHERE date >= :since ORDER BY id'),\n"
    "                           engine, params={'since': '2025-02-01'})\n"
    "merchants = pd.read_sql_table('merchants', engine)\n"
    "raw = psycopg.connect(host='127.0.0.1', port=int(port), user='analyst',\n"
    "                      password=os.environ['WAREHOUSE_PASSWORD'], dbname='fraud')\n"
    "frauds = pd.read_sql('SELECT id FROM transactions WHERE fraud = 1 ORDER BY id', raw)",
    "%%lock\nfrom sklearn.linear_model import LogisticRegression\n"
    "X = tx[['amount']].join(tx.filter(like='risk')).fillna(0)\nmodel = LogisticRegression().fit(X, tx['fraud'])\n"
    "print(X.shape, model.coef_.round(4))",
)


def seed(pg: dict) -> None:
    with psycopg.connect(host=pg["host"], port=pg["port"], user=pg["user"], password=pg["password"],
                         dbname=pg["database"], autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS transactions; DROP TABLE IF EXISTS merchants")
        con.execute("CREATE TABLE transactions (id int PRIMARY KEY, date date, amount float8, merchant text, fraud int)")
        con.execute("INSERT INTO transactions SELECT i, DATE '2024-12-01' + (i % 90), (i % 17) * 1.25, "
                    "'m' || (i % 6), (i % 9 = 0)::int FROM generate_series(1, 300) i")
        con.execute("CREATE TABLE merchants (merchant text, country text)")
        con.execute("INSERT INTO merchants VALUES ('m0', 'FR'), ('m1', 'DE'), ('m2', NULL)")


def backfill(pg: dict) -> None:
    """Upstream: rows inserted into the past, and a new nullable column."""
    with psycopg.connect(host=pg["host"], port=pg["port"], user=pg["user"], password=pg["password"],
                         dbname=pg["database"], autocommit=True) as con:
        con.execute("INSERT INTO transactions SELECT i, DATE '2025-01-15', (i % 5) * 2.0, 'm1', (i % 4 = 0)::int "
                    "FROM generate_series(1001, 1040) i")
        con.execute("ALTER TABLE transactions ADD COLUMN merchant_risk_score float8")
        con.execute("UPDATE transactions SET merchant_risk_score = 0.25 WHERE id % 3 = 0")


@pytest.fixture(scope="module")
def incident(postgres, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("pg")
    env = {"WAREHOUSE_PASSWORD": postgres["password"], "WAREHOUSE_PORT": str(postgres["port"])}
    seed(postgres)
    engine = create_engine(postgres["url"])
    before = pd.read_sql(QUERY, engine)
    engine.dispose()  # no session of the test's own left open while the notebook reads
    lock = run(write_notebook(folder / "warehouse.ipynb", *CELLS), env=env)
    shutil.copy(folder / "warehouse.lock.json", folder / "original.lock.json")
    backfill(postgres)
    outputs = []
    pinned = notelock("replay", "original.lock.json", "--json", cwd=folder, env=env)
    current = notelock("replay", "original.lock.json", "--against-current", "--json", "--out", "current.lock.json",
                       cwd=folder, env=env)
    shown = notelock("show", "original.lock.json", cwd=folder, env=env)
    outputs += [pinned, current, shown]
    return {"folder": folder, "lock": lock, "before": before, "pinned": pinned, "current": current,
            "outputs": outputs, "env": env, "pg": postgres}


def test_reads_record_the_server_database_user_query_and_parameters(incident):
    lock, pg = incident["lock"], incident["pg"]
    found = {n["query"].split(" FROM ")[0] + "|" + n["reader"]: n for _, n in reads(lock)}
    assert len(found) == 4
    tx = next(n for n in found.values() if n.get("query") == QUERY)
    assert tx["reader"] == "pandas.read_sql"
    assert tx["connection"] == f"postgresql+psycopg://analyst:***@127.0.0.1:{pg['port']}/fraud"
    with psycopg.connect(host=pg["host"], port=pg["port"], user=pg["user"], password=pg["password"],
                         dbname="fraud") as con:
        number = con.info.server_version
    version = f"{number // 10000}.{number % 10000}"
    assert tx["server"] == {"product": "PostgreSQL", "version": version, "database": "fraud", "user": "analyst"}
    assert tx["output"] == hashing.value_hash(incident["before"]) and tx["rows"] == len(incident["before"])
    assert [c["name"] for c in lock["schemas"][tx["schema"]]["columns"]] == ["id", "date", "amount", "merchant", "fraud"]
    assert tx["snapshot_format"] == "parquet"
    recent = next(n for n in found.values() if n["reader"] == "pandas.read_sql_query")
    assert recent["options"] == {"params": {"since": "2025-02-01"}} and ":since" in recent["query"]
    table = next(n for n in found.values() if n["reader"] == "pandas.read_sql_table")
    assert table["query"] == "merchants"
    raw = next(n for n in found.values() if "fraud = 1" in n["query"])
    assert raw["connection"] == f"postgresql://analyst@127.0.0.1:{pg['port']}/fraud"
    assert raw["server"] == tx["server"]


def test_pinned_replay_reproduces_from_snapshots_after_the_backfill(incident):
    proc = incident["pinned"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert {v["verdict"] for v in report["verdicts"]} == {"reproduced"}, report["verdicts"]
    tx = next(v for v in report["verdicts"] if v["op"] == "read" and LABEL in v["label"])
    assert "replayed from snapshot" in tx["detail"] and "merchant_risk_score" in tx["detail"]


def test_replay_against_current_data_names_the_new_column_and_the_rows(incident):
    proc = incident["current"]
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    tx = next(v for v in report["verdicts"] if v["op"] == "read" and LABEL in v["label"])
    assert tx["verdict"] == "DIVERGED"
    rows = len(incident["before"])
    assert re.search(r"schema changed: \+ merchant_risk_score \(float64, 6\d% null\)", tx["detail"]), tx
    assert f"rows {rows} → {rows + 40}" in tx["detail"]
    [fit] = [v for v in report["verdicts"] if v["op"] == "fit"]
    assert fit["verdict"] == "DIVERGED" and "first diverging input: @read_" in fit["detail"]


def test_the_password_is_in_no_file_and_no_message(incident):
    folder = incident["folder"]
    written = [p for p in Path(folder).rglob("*") if p.is_file()]
    assert any(p.suffix == ".json" for p in written) and any(".notelock" in p.parts for p in written)
    for path in written:
        assert PASSWORD.encode() not in path.read_bytes(), path
    for proc in incident["outputs"]:
        assert PASSWORD not in proc.stdout + proc.stderr


def test_each_read_records_the_servers_counters_of_the_tables_it_reads(incident):
    lock = incident["lock"]
    found = {n["query"]: n for _, n in reads(lock)}
    for query, node in found.items():
        stats = node["table_stats"]
        names = [t["name"] for t in stats["tables"]]
        assert names == (["public.merchants"] if query == "merchants" else ["public.transactions"]), query
        assert stats["complete"] is True and stats["stats_reset"] is None and stats["server_started"]
    tx = found[QUERY]["table_stats"]["tables"][0]
    assert (tx["inserted"], tx["updated"], tx["deleted"], tx["live"]) == (300, 0, 0, 300)
    assert tx["columns"] == ["id integer", "date date", "amount double precision", "merchant text", "fraud integer"]
    merchants = found["merchants"]["table_stats"]["tables"][0]
    assert (merchants["inserted"], merchants["columns"]) == (3, ["merchant text", "country text"])
    # the identity of a read does not cover them: the id is the hash of the identity fields alone
    from notelock.core.lockfile import identity_fields, node_identity

    assert "table_stats" not in identity_fields(found[QUERY])
    assert node_identity(found[QUERY]) == found[QUERY]["identity"]


BACKFILLED = ("server: table public.transactions: 40 rows inserted, 113 updated, "
              "column merchant_risk_score (double precision) added since the lock; the result's hash differs")


def test_the_drift_report_gives_the_servers_word_next_to_the_hash(incident):
    for proc in (incident["pinned"], incident["current"]):
        report = json.loads(proc.stdout)
        by_label = {v["label"]: v for v in report["verdicts"] if v["op"] == "read"}
        tx = next(v for label, v in by_label.items() if LABEL in label)
        assert BACKFILLED in tx["detail"], tx
        assert tx["server"] == {"text": BACKFILLED, "unchanged": False}
        raw = next(v for label, v in by_label.items() if "fraud = 1" in label)
        assert BACKFILLED in raw["detail"], raw
        # the untouched table: the server reports no writes, and the hash agrees
        merchants = next(v for label, v in by_label.items() if "merchants" in label)
        assert merchants["verdict"] == "reproduced"
        assert merchants["detail"] == "server: table public.merchants: no writes since the lock; the result's hash agrees"
        assert merchants["server"]["unchanged"] is True
