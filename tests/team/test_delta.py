"""Delta Lake reads pinned by table version: the real deltalake package on real tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable, write_deltalake

from kernel_utils import Kernel
from notelock.core.hashing import hash_json
from notelock.core.lockfile import load_lock

pytestmark = [pytest.mark.kernel, pytest.mark.slow]
LOCK = "scratch.lock.json"


def notelock(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NOTELOCK_STORE"}
    return subprocess.run([sys.executable, "-m", "notelock", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_replay_reads_the_recorded_delta_version_and_names_it_once_vacuumed(tmp_path: Path):
    table = tmp_path / "events"
    write_deltalake(str(table), pd.DataFrame({"user": [1, 2, 3], "amount": [9.5, 3.0, 4.25]}))
    kernel = Kernel(tmp_path, env={"NOTELOCK_STORE": ""})
    try:
        kernel.ok("%load_ext notelock")
        kernel.ok("%%lock\nfrom deltalake import DeltaTable\nev = DeltaTable('events').to_pandas()\n"
                  "total = float(ev['amount'].sum())")
        assert kernel.value("total") == 16.75
    finally:
        kernel.shutdown()
    [node] = [n for n in load_lock(tmp_path / LOCK)["nodes"].values() if n["op"] == "read"]
    recorded = DeltaTable(str(table))
    assert node["reader"] == "deltalake.DeltaTable.to_pandas" and node["path"] == "events"
    assert node["delta"] == {"version": 0, "table_id": recorded.metadata().id, "files": 1}
    files = sorted(Path(u).name for u in recorded.file_uris())
    assert node["content"] == hash_json({"table": recorded.metadata().id, "files": files})
    assert "snapshot" not in node  # the version pins it, no copy needed

    write_deltalake(str(table), pd.DataFrame({"user": [4], "amount": [100.0]}), mode="append")
    proc = notelock("replay", LOCK, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verdicts = json.loads(proc.stdout)["verdicts"]
    assert {v["verdict"] for v in verdicts} == {"reproduced"}
    [read] = [v for v in verdicts if v["op"] == "read"]
    assert "replayed from Delta version 0" in read["detail"] and "rows 3 → 4" in read["detail"]

    current = notelock("replay", LOCK, "--against-current", "--json", cwd=tmp_path)
    assert current.returncode == 1, current.stdout + current.stderr
    [read] = [v for v in json.loads(current.stdout)["verdicts"] if v["op"] == "read"]
    assert read["verdict"] == "DIVERGED" and "events: content changed" in read["detail"]

    # the table is rewritten and vacuumed: version 0's files are gone
    write_deltalake(str(table), pd.DataFrame({"user": [5], "amount": [1.0]}), mode="overwrite")
    DeltaTable(str(table)).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    gone = notelock("replay", LOCK, cwd=tmp_path)
    assert gone.returncode == 2, gone.stdout + gone.stderr
    assert gone.stderr.count("\n") == 1
    assert "Delta table events: version 0" in gone.stderr and "vacuumed" in gone.stderr


def test_a_pyarrow_read_of_a_delta_table_is_pinned_the_same_way(tmp_path: Path):
    table = tmp_path / "events"
    write_deltalake(str(table), pd.DataFrame({"user": [1, 2], "amount": [1.0, 2.0]}))
    write_deltalake(str(table), pd.DataFrame({"user": [3], "amount": [3.0]}), mode="append")
    kernel = Kernel(tmp_path, env={"NOTELOCK_STORE": ""})
    try:
        kernel.ok("%load_ext notelock\nfrom deltalake import DeltaTable")
        kernel.ok("%%lock\nt = DeltaTable('events').to_pyarrow_table()\nn = t.num_rows")
    finally:
        kernel.shutdown()
    [node] = [n for n in load_lock(tmp_path / LOCK)["nodes"].values() if n["op"] == "read"]
    assert node["reader"] == "deltalake.DeltaTable.to_pyarrow_table"
    assert node["delta"]["version"] == 1 and node["delta"]["files"] == 2
    write_deltalake(str(table), pd.DataFrame({"user": [4], "amount": [4.0]}), mode="append")
    proc = notelock("replay", LOCK, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [read] = [v for v in json.loads(proc.stdout)["verdicts"] if v["op"] == "read"]
    assert read["verdict"] == "reproduced" and "replayed from Delta version 1" in read["detail"]
