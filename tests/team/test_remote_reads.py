"""Reads of S3 objects inside ``%%lock``: version identity, content hash, per-file
datasets, and a replay pinned to the version the lock read."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import xxhash
from s3_utils import SECRET, S3Server

from kernel_utils import Kernel
from notelock.core.hashing import hash_json
from notelock.core.lockfile import load_lock

pytestmark = [pytest.mark.kernel, pytest.mark.slow]
LOCK = "scratch.lock.json"
READ = ("%%lock{flags}\nimport os\n"
        "opts = {{'key': os.environ['AWS_ACCESS_KEY_ID'], 'secret': os.environ['AWS_SECRET_ACCESS_KEY']}}\n"
        "df = pd.read_csv('s3://{bucket}/data/transactions.csv', storage_options=opts)\n"
        "total = float(df['amount'].sum())")


def _csv(rows: int) -> bytes:
    return pd.DataFrame({"amount": [1.25 * i for i in range(rows)], "is_fraud": [i % 2 for i in range(rows)]}) \
        .to_csv(index=False).encode()


def _h(data: bytes) -> str:
    return "xxh3_128:" + xxhash.xxh3_128_hexdigest(data)


def _lock_read(folder: Path, bucket: str, env: dict[str, str], flags: str = "") -> dict:
    kernel = Kernel(folder, env=env)
    try:
        kernel.ok("%load_ext notelock\nimport pandas as pd")
        kernel.ok(READ.format(flags=flags, bucket=bucket))
    finally:
        kernel.shutdown()
    [node] = [n for n in load_lock(folder / LOCK)["nodes"].values() if n["op"] == "read"]
    return node


def notelock(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "notelock", *args], cwd=cwd, env=dict(os.environ, **env),
                          capture_output=True, text=True, timeout=600)


def test_an_overwritten_s3_object_changes_version_and_content_and_replay_reads_the_recorded_version(
        tmp_path: Path, bucket: str, s3_server: S3Server):
    fs = s3_server.filesystem()
    first, second = _csv(50), _csv(60)
    fs.pipe_file(f"{bucket}/data/transactions.csv", first)
    info = fs.info(f"{bucket}/data/transactions.csv")
    env = {**s3_server.env, "NOTELOCK_STORE": ""}
    (tmp_path / "a").mkdir()
    node = _lock_read(tmp_path / "a", bucket, env)
    assert node["url"] == f"s3://{bucket}/data/transactions.csv"
    assert node["content"] == _h(first)
    remote = node["remote"]
    assert remote["version_id"] == info["VersionId"] and remote["size"] == len(first)
    assert remote["etag"] == info["ETag"].strip('"') and remote["last_modified"]
    assert remote["hash_s"] >= 0
    lock_text = (tmp_path / "a" / LOCK).read_text()
    assert SECRET not in lock_text and "AWS_SECRET_ACCESS_KEY" in lock_text  # a marker, not the value

    fs.pipe_file(f"{bucket}/data/transactions.csv", second)  # upstream overwrites the object
    (tmp_path / "b").mkdir()
    later = _lock_read(tmp_path / "b", bucket, env)
    assert later["content"] == _h(second) and later["remote"]["version_id"] != remote["version_id"]
    assert later["identity"] != node["identity"]

    # no snapshot was taken: the replay reads the version the lock recorded
    proc = notelock("replay", LOCK, "--json", cwd=tmp_path / "a", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verdicts = json.loads(proc.stdout)["verdicts"]
    assert {v["verdict"] for v in verdicts} == {"reproduced"}
    [read] = [v for v in verdicts if v["op"] == "read"]
    assert f"replayed from the recorded version {remote['version_id']}" in read["detail"]
    # against today's object: the drift is named at the read
    current = notelock("replay", LOCK, "--against-current", "--json", cwd=tmp_path / "a", env=env)
    assert current.returncode == 1, current.stdout + current.stderr
    [read] = [v for v in json.loads(current.stdout)["verdicts"] if v["op"] == "read"]
    assert read["verdict"] == "DIVERGED"
    assert f"s3://{bucket}/data/transactions.csv: content changed" in read["detail"]
    assert "rows 50 → 60" in read["detail"]


def test_a_snapshot_of_a_remote_read_goes_to_the_remote_store_and_serves_the_replay(
        tmp_path: Path, bucket: str, s3_server: S3Server):
    fs = s3_server.filesystem()
    fs.pipe_file(f"{bucket}/data/transactions.csv", _csv(40))
    env = {**s3_server.env, "NOTELOCK_STORE": f"s3://{bucket}/store", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    node = _lock_read(tmp_path, bucket, env, flags=" --snapshot")
    hx = node["snapshot"].split(":")[1]
    assert fs.exists(f"{bucket}/store/objects/{hx[:2]}/{hx[2:]}")
    # the object is deleted outright (every version): only the snapshot is left
    for v in fs.call_s3("list_object_versions", Bucket=bucket, Prefix="data/")["Versions"]:
        fs.call_s3("delete_object", Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
    proc = notelock("replay", LOCK, "--json", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [read] = [v for v in json.loads(proc.stdout)["verdicts"] if v["op"] == "read"]
    assert read["verdict"] == "reproduced" and "replayed from snapshot" in read["detail"]


def test_a_partitioned_dataset_is_recorded_per_file_in_key_order(tmp_path: Path, bucket: str, s3_server: S3Server):
    fs = s3_server.filesystem()
    parts = {}
    for name, start in (("part-b.parquet", 10), ("part-a.parquet", 0)):  # written out of order
        buf = io.BytesIO()
        pd.DataFrame({"amount": [float(start + i) for i in range(5)]}).to_parquet(buf, index=False)
        parts[name] = buf.getvalue()
        fs.pipe_file(f"{bucket}/ds/{name}", parts[name])
    fs.pipe_file(f"{bucket}/ds/_SUCCESS", b"")
    kernel = Kernel(tmp_path, env={**s3_server.env, "NOTELOCK_STORE": ""})
    try:
        kernel.ok("%load_ext notelock\nimport pandas as pd")
        kernel.ok(f"%%lock\nds = pd.read_parquet('s3://{bucket}/ds/')")
    finally:
        kernel.shutdown()
    [node] = [n for n in load_lock(tmp_path / LOCK)["nodes"].values() if n["op"] == "read"]
    files = node["remote"]["files"]
    assert [f["key"] for f in files] == ["part-a.parquet", "part-b.parquet"]
    assert [f["content"] for f in files] == [_h(parts["part-a.parquet"]), _h(parts["part-b.parquet"])]
    assert all(f["version_id"] for f in files)
    assert node["content"] == hash_json([[k, _h(parts[k])] for k in sorted(parts)])
