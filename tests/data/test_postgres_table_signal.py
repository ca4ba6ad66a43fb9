"""What a real PostgreSQL server's statistics say of the tables a read reads,
against the read's content hash, which decides.

A view is redefined (no table is written): the server truthfully reports no
writes to the table under it, the result's hash differs, and the replay says
the hash decides. Two reads on one raw psycopg connection, the second inside
the transaction the first opened: the user's transaction is left as it was,
and the result is what pandas returns without notelock."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from data.helpers import PASSWORD, notelock, reads, run, write_notebook
from notelock.core import hashing, lockschema

pytestmark = [pytest.mark.kernel, pytest.mark.slow, pytest.mark.filterwarnings("ignore:pandas only supports SQLAlchemy")]

VIEW_QUERY = "SELECT * FROM fr_shops ORDER BY shop"
COUNT_QUERY = "SELECT count(*) AS n FROM shops WHERE country = %s"
CELLS = (
    "%load_ext notelock",
    "%%lock --snapshot\nimport os\nimport pandas as pd\nimport psycopg\nfrom sqlalchemy import create_engine\n"
    "port = os.environ['WAREHOUSE_PORT']\n"
    "engine = create_engine(f\"postgresql+psycopg://analyst:{os.environ['WAREHOUSE_PASSWORD']}@127.0.0.1:{port}/fraud\")\n"
    f"fr = pd.read_sql({VIEW_QUERY!r}, engine)\n"
    "raw = psycopg.connect(host='127.0.0.1', port=int(port), user='analyst',\n"
    "                      password=os.environ['WAREHOUSE_PASSWORD'], dbname='fraud')\n"
    f"first = pd.read_sql({COUNT_QUERY!r}, raw, params=['FR'])\n"
    "state_between = int(raw.info.transaction_status)\n"
    f"second = pd.read_sql({COUNT_QUERY!r}, raw, params=['DE'])\n"
    "state_after = int(raw.info.transaction_status)\n"
    "raw.commit()\nraw.close()\nengine.dispose()\n"
    "print(state_between, state_after)",
)


def connect(pg: dict) -> psycopg.Connection:
    return psycopg.connect(host=pg["host"], port=pg["port"], user=pg["user"], password=pg["password"],
                           dbname=pg["database"], autocommit=True)


@pytest.fixture(scope="module")
def signal(postgres, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("pgsignal")
    env = {"WAREHOUSE_PASSWORD": postgres["password"], "WAREHOUSE_PORT": str(postgres["port"])}
    with connect(postgres) as con:
        con.execute("DROP VIEW IF EXISTS fr_shops; DROP TABLE IF EXISTS shops")
        con.execute("CREATE TABLE shops (shop text, country text)")
        con.execute("INSERT INTO shops VALUES ('s1', 'FR'), ('s2', 'DE'), ('s3', 'FR'), ('s4', 'DE'), ('s5', 'DE')")
        con.execute("CREATE VIEW fr_shops AS SELECT * FROM shops WHERE country = 'FR'")
    with connect(postgres) as con:
        expected = {"fr": pd.read_sql(VIEW_QUERY, con), "first": pd.read_sql(COUNT_QUERY, con, params=["FR"]),
                    "second": pd.read_sql(COUNT_QUERY, con, params=["DE"])}
    nb = folder / "shops.ipynb"
    lock = run(write_notebook(nb, *CELLS), env=env)
    with connect(postgres) as con:  # upstream redefines the view; no table is written
        con.execute("CREATE OR REPLACE VIEW fr_shops AS SELECT * FROM shops WHERE country = 'DE'")
    pinned = notelock("replay", nb.name.replace(".ipynb", ".lock.json"), "--json", cwd=folder, env=env)
    current = notelock("replay", nb.name.replace(".ipynb", ".lock.json"), "--against-current", "--json",
                       "--out", "current.lock.json", cwd=folder, env=env)
    return {"folder": folder, "lock": lock, "expected": expected, "pinned": pinned, "current": current,
            "printed": json.loads(nb.read_text())["cells"][1]["outputs"]}


def read_verdict(proc, text: str) -> dict:
    report = json.loads(proc.stdout)
    return next(v for v in report["verdicts"] if v["op"] == "read" and text in v["label"])


UNCHANGED = ("server: table public.shops: no writes since the lock, but the result's hash differs: "
             "the hash decides")


def test_a_redefined_view_the_server_reports_no_writes_and_the_hash_decides(signal):
    proc = signal["current"]
    assert proc.returncode == 1, proc.stdout + proc.stderr
    fr = read_verdict(proc, "fr_shops")
    assert fr["verdict"] == "DIVERGED"
    assert UNCHANGED in fr["detail"] and fr["server"] == {"text": UNCHANGED, "unchanged": True}, fr
    pinned = signal["pinned"]
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    fr = read_verdict(pinned, "fr_shops")
    assert fr["verdict"] == "reproduced" and "replayed from snapshot" in fr["detail"] and UNCHANGED in fr["detail"]


def test_the_view_is_followed_to_its_table(signal):
    lockschema.validate(signal["lock"])
    [view] = [n for _, n in reads(signal["lock"]) if n["query"] == VIEW_QUERY]
    assert [t["name"] for t in view["table_stats"]["tables"]] == ["public.shops"]
    assert view["table_stats"]["tables"][0]["inserted"] == 5


def test_reads_on_a_raw_connection_leave_the_users_transaction_and_results_alone(signal):
    lock, expected = signal["lock"], signal["expected"]
    by_param = {n["options"]["params"][0]: n for _, n in reads(lock) if n["query"] == COUNT_QUERY}
    counts = [by_param["FR"], by_param["DE"]]
    assert [n["output"] for n in counts] == [hashing.value_hash(expected["first"]), hashing.value_hash(expected["second"])]
    [view] = [n for _, n in reads(lock) if n["query"] == VIEW_QUERY]
    assert view["output"] == hashing.value_hash(expected["fr"])
    # pandas left the first read's transaction open; the second read's look at the
    # statistics went into a savepoint, rolled back: the transaction is still open, not failed
    printed = "".join("".join(o.get("text", "")) for o in signal["printed"] if o.get("name") == "stdout")
    assert printed.split() == [str(int(psycopg.pq.TransactionStatus.INTRANS))] * 2
    first, second = (n["table_stats"] for n in counts)
    assert first["unreported"] >= 0 and second["unreported"] >= 1  # its own connection could not report first
    # the count reads reproduce (the table was not written), and the server agrees
    for proc in (signal["pinned"], signal["current"]):
        report = json.loads(proc.stdout)
        for v in (v for v in report["verdicts"] if v["op"] == "read" and "count(*)" in v["label"]):
            assert v["verdict"] == "reproduced" and v["server"]["unchanged"] is True, v
            assert v["detail"].startswith("server: table public.shops: no writes since the lock"), v


def test_the_password_is_in_no_file_and_no_message(signal):
    written = [p for p in Path(signal["folder"]).rglob("*") if p.is_file()]
    assert written
    for path in written:
        assert PASSWORD.encode() not in path.read_bytes(), path
    for proc in (signal["pinned"], signal["current"]):
        assert PASSWORD not in proc.stdout + proc.stderr
