"""The fraud example end to end: lock, backfill the sources, replay, diff.

Real kernels, a real CSV file and a real SQLite database. The example
notebook pins its reads itself (``%%lock --snapshot``), so a replay can serve
drifted inputs from the store.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kernel_utils import ROOT, run_notebook
from notelock.core.lockfile import load_lock

pytestmark = [pytest.mark.kernel, pytest.mark.slow]
ENV = {"FRAUD_ROWS": "3000"}
NB = "fraud_detection.ipynb"
LOCK = "fraud_detection.lock.json"


def notelock(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run the real ``notelock`` command line."""
    env = dict(os.environ, **ENV)
    return subprocess.run([sys.executable, "-m", "notelock", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def pinned_copy(folder: Path) -> Path:
    """A copy of the example notebook, exactly as shipped."""
    path = folder / NB
    shutil.copy(ROOT / "notebooks" / NB, path)
    return path


def backfill(folder: Path) -> None:
    """Upstream changes: older rows appear and a nullable column is added, in both sources."""
    csv = folder / "transactions.csv"
    df = pd.read_csv(csv)
    rng = np.random.default_rng(11)
    old = df.sample(600, random_state=3).assign(date="2024-06-15")
    new = pd.concat([df, old], ignore_index=True)
    risk = rng.random(len(new)).round(3)
    risk[rng.random(len(new)) < 0.61] = np.nan
    new["merchant_risk_score"] = risk
    new.to_csv(csv, index=False)
    with closing(sqlite3.connect(folder / "fraud.db")) as con:
        con.execute("ALTER TABLE transactions ADD COLUMN merchant_risk_score REAL")
        con.execute("UPDATE transactions SET merchant_risk_score = 0.5 WHERE rowid % 3 = 0")
        rows = old.drop(columns=[]).assign(merchant_risk_score=None)
        rows.to_sql("transactions", con, if_exists="append", index=False)
        con.commit()


@pytest.fixture(scope="module")
def locked(tmp_path_factory) -> Path:
    """The pinned example, run once, then its sources backfilled."""
    folder = tmp_path_factory.mktemp("fraud")
    run_notebook(pinned_copy(folder), env=ENV)
    lock = load_lock(folder / LOCK)
    reads = [n for n in lock["nodes"].values() if n["op"] == "read"]
    assert len(reads) == 2 and all(n.get("snapshot") for n in reads), "both reads are pinned"
    shutil.copy(folder / LOCK, folder / "original.lock.json")
    backfill(folder)
    return folder


def test_pinned_replay_reproduces_from_snapshots(locked: Path):
    before = (locked / LOCK).read_bytes()
    proc = notelock("replay", LOCK, "--events", cwd=locked)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[0]["event"] == "start" and events[-1]["event"] == "done"
    assert events[-1]["exit_code"] == 0
    nodes = [e for e in events if e["event"] == "node"]
    assert len(nodes) == events[0]["nodes"]
    assert {e["verdict"] for e in nodes} == {"reproduced"}
    reads = [e for e in nodes if e["op"] == "read"]
    assert len(reads) == 2
    for read in reads:
        assert "input drifted, replayed from snapshot" in read["detail"]
        assert "merchant_risk_score" in read["detail"]
    assert {"fit", "predict"} <= {e["op"] for e in nodes}
    assert (locked / LOCK).read_bytes() == before, "replay never touches the lock it replays"


def test_replay_against_current_data_diverges_at_the_reads(locked: Path):
    proc = notelock("replay", LOCK, "--against-current", "--json", "--out", "current.lock.json", cwd=locked)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    by_op: dict[str, list[dict]] = {}
    for v in report["verdicts"]:
        by_op.setdefault(v["op"], []).append(v)
    for read in by_op["read"]:
        assert read["verdict"] == "DIVERGED"
        assert "schema changed: + merchant_risk_score" in read["detail"], read
    csv_read = next(v for v in by_op["read"] if "transactions.csv" in v["label"])
    assert "rows 3000 → 3600" in csv_read["detail"]
    assert "% null" in csv_read["detail"]
    for op in ("fit", "predict"):
        [verdict] = by_op[op]
        assert verdict["verdict"] == "DIVERGED"
        assert verdict["recorded"] != verdict["replayed"]
        assert "first diverging input: @read_" in verdict["detail"]
    assert (locked / "current.lock.json").is_file()


def test_diff_names_the_reads_as_root_causes(locked: Path):
    rerun = locked / "rerun"
    rerun.mkdir()
    for name in (NB, "transactions.csv", "fraud.db"):
        shutil.copy(locked / name, rerun / name)
    run_notebook(rerun / NB, env=ENV)
    proc = notelock("diff", str(locked / "original.lock.json"), str(rerun / LOCK), "--json", cwd=locked)
    assert proc.returncode == 1, proc.stderr
    diff = json.loads(proc.stdout)["diff"]
    a = load_lock(locked / "original.lock.json")
    b = load_lock(rerun / LOCK)
    root = set(diff["root_causes"])
    reads_b = {nid for nid, n in b["nodes"].items() if n["op"] == "read"}
    assert root == reads_b, diff["nodes"]
    consequences = {b["nodes"][nid]["op"] for nid in diff["consequences"]}
    assert {"fit", "predict"} <= consequences
    data = {d["source"]: d for d in diff["data"]}
    assert data["transactions.csv"]["root_cause"] and data["transactions.csv"]["rows_delta"] == 600
    assert [c["name"] for c in data["transactions.csv"]["schema"]["added"]] == ["merchant_risk_score"]
    assert not diff["parameters"] and not diff["code"]
    assert a["identity"] != b["identity"]
    text = notelock("diff", str(locked / "original.lock.json"), str(rerun / LOCK), cwd=locked).stdout
    assert "ROOT CAUSE" in text and "transactions.csv: schema changed: + merchant_risk_score" in text


def test_missing_snapshot_object_is_unusable_input(locked: Path, tmp_path: Path):
    for name in (NB, LOCK, "transactions.csv", "fraud.db"):
        shutil.copy(locked / name, tmp_path / name)
    # no .notelock store beside this copy: the snapshots it names are missing
    proc = notelock("replay", LOCK, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "missing" in proc.stderr
