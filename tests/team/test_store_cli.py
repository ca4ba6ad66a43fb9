"""``notelock store push|pull``, ``store du`` and ``gc`` on a shared S3 store, through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from s3_utils import SECRET, S3Server

from kernel_utils import Kernel
from notelock.core.collect import lock_use
from notelock.core.lockfile import load_lock
from notelock.core.remote_store import RemoteStore
from notelock.core.store import Store

pytestmark = [pytest.mark.kernel, pytest.mark.slow]
LOCK = "scratch.lock.json"


def notelock(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "NOTELOCK_STORE"}
    return subprocess.run([sys.executable, "-m", "notelock", *args], cwd=cwd, env=dict(base, **(env or {})),
                          capture_output=True, text=True, timeout=600)


@pytest.fixture
def local_lock(tmp_path: Path) -> Path:
    """A lock built with the local store: one snapshotted read, one cached cell."""
    folder = tmp_path / "a"
    folder.mkdir()
    pd.DataFrame({"amount": [1.5, 2.0, 7.25], "is_fraud": [0, 1, 0]}).to_csv(folder / "data.csv", index=False)
    kernel = Kernel(folder, env={"NOTELOCK_STORE": ""})
    try:
        kernel.ok("%load_ext notelock\nimport pandas as pd")
        kernel.ok("%%lock --snapshot\ndf = pd.read_csv('data.csv')")
        kernel.ok("%%lock --cache\ntotal = df['amount'].sum() * 2")
    finally:
        kernel.shutdown()
    return folder / LOCK


def test_push_then_pull_moves_what_the_lock_pins_and_the_replay_needs_nothing_else(
        tmp_path: Path, local_lock: Path, bucket: str, s3_server: S3Server):
    url = f"s3://{bucket}/team"
    folder = local_lock.parent
    env = {**s3_server.env, "XDG_CACHE_HOME": str(tmp_path / "cache-a")}
    pinned = lock_use(Store(folder / ".notelock"), local_lock)
    assert pinned.snapshots and pinned.cache_entries

    proc = notelock("store", "push", LOCK, "--to", url, cwd=folder, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"pushed {len(pinned.snapshots | pinned.cache_objects)} objects")
    assert "1 cache entries" in proc.stdout and url in proc.stdout
    remote = RemoteStore(url, local_root=tmp_path / "check")
    assert all(remote.has(d) for d in pinned.snapshots | pinned.cache_objects)
    again = notelock("store", "push", LOCK, "--to", url, cwd=folder, env=env)
    assert again.returncode == 0 and again.stdout.startswith("pushed 0 objects"), again.stdout

    # machine B: the lock alone, no data file; pull, then replay from the local store
    b = tmp_path / "b"
    b.mkdir()
    (b / LOCK).write_bytes(local_lock.read_bytes())
    env_b = {**s3_server.env, "XDG_CACHE_HOME": str(tmp_path / "cache-b")}
    pulled = notelock("store", "pull", LOCK, "--from", url, cwd=b, env=env_b)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.startswith("pulled ")
    assert all(Store(b / ".notelock").has(d) for d in pinned.snapshots)
    replay = notelock("replay", LOCK, cwd=b, env=env_b)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "replayed from snapshot" in replay.stdout + replay.stderr
    assert SECRET not in proc.stdout + pulled.stdout + replay.stdout + replay.stderr


def test_push_refuses_without_a_shared_store_and_names_a_missing_snapshot(tmp_path: Path, local_lock: Path,
                                                                          bucket: str, s3_server: S3Server):
    folder = local_lock.parent
    proc = notelock("store", "push", LOCK, cwd=folder, env=s3_server.env)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "--to URL or NOTELOCK_STORE" in proc.stderr
    snapshot = next(n["snapshot"] for n in load_lock(local_lock)["nodes"].values() if n.get("snapshot"))
    Store(folder / ".notelock").delete(snapshot)
    proc = notelock("store", "push", LOCK, "--to", f"s3://{bucket}/team", cwd=folder, env=s3_server.env)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert snapshot.split(":")[1][:12] in proc.stderr and "missing" in proc.stderr


def test_gc_on_the_remote_store_is_a_dry_run_unless_told_and_keeps_what_locks_pin(
        tmp_path: Path, local_lock: Path, bucket: str, s3_server: S3Server):
    url = f"s3://{bucket}/team"
    folder = local_lock.parent
    env = {**s3_server.env, "NOTELOCK_STORE": url, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert notelock("store", "push", LOCK, "--to", url, cwd=folder, env=env).returncode == 0
    remote = RemoteStore(url, local_root=tmp_path / "check")
    orphan = remote.put_bytes(b"nothing pins this\n")
    time.sleep(1.1)
    pinned = lock_use(Store(folder / ".notelock"), local_lock)

    du = notelock("store", "du", ".", cwd=folder, env=env)
    assert du.returncode == 0, du.stderr
    remote_part = du.stdout[du.stdout.index(url):]  # the local store beside the lock is listed too
    assert f"\n  {LOCK} " in remote_part

    dry = notelock("gc", ".", "--min-age", "1", cwd=folder, env=env)
    assert dry.returncode == 0, dry.stderr
    assert f"{url}: kept for {LOCK}; would remove 1 objects" in dry.stdout
    assert "dry run" in dry.stdout
    assert remote.has(orphan)
    week = notelock("gc", ".", "--yes", cwd=folder, env=env)
    assert "removed 0 objects" in week.stdout, week.stdout  # a shared store spares a week by default
    done = notelock("gc", ".", "--min-age", "1", "--yes", cwd=folder, env=env)
    assert done.returncode == 0 and "removed 1 objects" in done.stdout, done.stdout
    fresh = RemoteStore(url, local_root=tmp_path / "fresh")
    assert not fresh.has(orphan)
    assert all(fresh.has(d) for d in pinned.snapshots | pinned.cache_objects)


def test_kept_versions_live_in_the_shared_store_and_notelock_log_reads_them_from_another_clone(
        tmp_path: Path, bucket: str, s3_server: S3Server):
    url = f"s3://{bucket}/team"
    a = tmp_path / "a"
    a.mkdir()
    env = {**s3_server.env, "NOTELOCK_STORE": url, "XDG_CACHE_HOME": str(tmp_path / "cache-a")}
    for amount in (1.0, 2.0):  # two sessions: the second replaces the first's lock
        pd.DataFrame({"amount": [amount]}).to_csv(a / "data.csv", index=False)
        kernel = Kernel(a, env=env)
        try:
            kernel.ok("%load_ext notelock\nimport pandas as pd")
            kernel.ok("%%lock\ndf = pd.read_csv('data.csv')")
        finally:
            kernel.shutdown()
    fs = s3_server.filesystem()
    fs.invalidate_cache()
    assert len(fs.ls(f"{bucket}/team/history/{LOCK}")) == 1
    assert not (a / ".notelock" / "history").exists()
    # another clone: the current lock, and its history from the shared store
    b = tmp_path / "b"
    b.mkdir()
    (b / LOCK).write_bytes((a / LOCK).read_bytes())
    proc = notelock("log", LOCK, cwd=b, env={**env, "XDG_CACHE_HOME": str(tmp_path / "cache-b")})
    assert proc.returncode == 0, proc.stderr
    header, *lines = proc.stdout.splitlines()
    assert header.split()[0] == "VERSION"
    assert [line.split()[0] for line in lines] == [LOCK, f"{LOCK}~1"]
    assert "read data.csv: content changed" in lines[0]


def test_a_replay_whose_shared_store_cannot_be_reached_says_so_in_one_line(
        tmp_path: Path, local_lock: Path, bucket: str, s3_server: S3Server):
    folder = local_lock.parent
    (folder / "data.csv").write_text("amount,is_fraud\n0.5,1\n")  # drifted: the snapshot is needed
    env = {**s3_server.env, "NOTELOCK_STORE": f"s3://nl-missing-{bucket}/team",
           "XDG_CACHE_HOME": str(tmp_path / "cache-empty")}
    proc = notelock("replay", LOCK, cwd=folder, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and f"nl-missing-{bucket}" in proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
