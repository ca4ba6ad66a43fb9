"""The team store on a real S3-compatible server: atomic publish, verified reads,
a local read-through tier, concurrent writers, a writer killed mid-upload."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import xxhash
from s3_utils import SECRET, S3Server

from notelock.core.errors import StoreError
from notelock.core.remote_store import RemoteStore
from notelock.core.store import open_store, store_for

pytestmark = pytest.mark.slow


def _digest(data: bytes) -> str:
    return "xxh3_128:" + xxhash.xxh3_128_hexdigest(data)


def _keys(s3: S3Server, prefix: str) -> list[str]:
    fs = s3.filesystem()
    fs.invalidate_cache()
    try:
        return sorted(fs.find(prefix))
    except FileNotFoundError:
        return []


def test_store_for_opens_a_remote_store_from_notelock_store(tmp_path: Path, bucket: str):
    store = store_for(tmp_path / "nb.lock.json", environ={"NOTELOCK_STORE": f"s3://{bucket}/team",
                                                          "NOTELOCK_STORE_CACHE": str(tmp_path / "tier")})
    assert isinstance(store, RemoteStore)
    assert store.where == f"s3://{bucket}/team"
    assert store.local.root.parent == tmp_path / "tier"


def test_objects_are_published_under_their_content_address_and_read_back_verified(
        tmp_path: Path, bucket: str, s3_server: S3Server):
    store = RemoteStore(f"s3://{bucket}/team", local_root=tmp_path / "a")
    data = os.urandom(3 << 20)
    digest = store.put_bytes(data)
    assert digest == _digest(data)
    hx = digest.split(":")[1]
    assert _keys(s3_server, f"{bucket}/team") == [f"{bucket}/team/objects/{hx[:2]}/{hx[2:]}"]  # no tmp/ left
    # another machine: an empty local tier, the same remote store
    other = RemoteStore(f"s3://{bucket}/team", local_root=tmp_path / "b")
    assert other.has(digest) and not other.local.has(digest)
    assert other.get_bytes(digest) == data
    # a damaged local copy is set aside and fetched again
    local_copy = other.local.object_path(digest)
    local_copy.chmod(0o644)
    local_copy.write_bytes(b"bit rot")
    assert RemoteStore(f"s3://{bucket}/team", local_root=tmp_path / "b").get_bytes(digest) == data
    # the second read is local: it works with the remote object gone
    s3_server.filesystem().rm(f"{bucket}/team/objects/{hx[:2]}/{hx[2:]}")
    assert other.path(digest).read_bytes() == data
    # the remote store is the truth for what it holds
    assert not RemoteStore(f"s3://{bucket}/team", local_root=tmp_path / "b").has(digest)


def test_a_damaged_remote_object_is_reported_and_never_used(tmp_path: Path, bucket: str, s3_server: S3Server):
    store = RemoteStore(f"s3://{bucket}/team", local_root=tmp_path / "a")
    digest = store.put_bytes(b"the real content\n" * 1000)
    hx = digest.split(":")[1]
    s3_server.filesystem().pipe_file(f"{bucket}/team/objects/{hx[:2]}/{hx[2:]}", b"tampered")
    reader = RemoteStore(f"s3://{bucket}/team", local_root=tmp_path / "b")
    with pytest.raises(StoreError, match=rf"{hx[:12]} in s3://{bucket}/team is corrupted"):
        reader.get_bytes(digest)
    assert not reader.local.has(digest)
    with pytest.raises(StoreError, match="is missing from"):
        reader.get_bytes(_digest(b"never stored"))


def test_cache_entries_and_history_live_in_the_remote_store(tmp_path: Path, bucket: str):
    a = RemoteStore(f"s3://{bucket}/team", local_root=tmp_path / "a")
    key = _digest(b"cell identity")
    value = a.put_bytes(b"pickled value")
    a.put_entry(key, {"identity": key, "values": {"x": {"object": value}}}, [value])
    a.append_history("nb.lock.json", {"object": value, "replaced": "2026-01-01T00:00:00Z"})
    a.append_history("nb.lock.json", {"object": key, "replaced": "2026-01-02T00:00:00Z"})
    b = RemoteStore(f"s3://{bucket}/team", local_root=tmp_path / "b")
    [(name, entry)] = b.entries_for(key)
    assert name == key.split(":")[1] and entry["values"]["x"]["object"] == value
    assert [h["object"] for h in b.read_history("nb.lock.json")] == [value, key]
    assert b.history_keys() == ["nb.lock.json"]


def test_credentials_never_appear_in_an_error(tmp_path: Path, s3_server: S3Server, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET + "-wrong")
    store = open_store(f"s3://nl-no-such-bucket-{os.getpid()}/x")
    with pytest.raises(StoreError) as err:
        store.put_bytes(b"data")
    message = str(err.value)
    assert "nl-no-such-bucket" in message and "\n" not in message
    assert SECRET not in message


_WRITER = textwrap.dedent("""
    import sys
    from notelock.core.remote_store import RemoteStore
    store = RemoteStore(sys.argv[1], local_root=sys.argv[2])
    digest = store.put_file(sys.argv[3])
    print("published", digest, flush=True)
""")


def _writer(url: str, tier: Path, source: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _WRITER, url, str(tier), str(source)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_a_writer_killed_mid_upload_leaves_no_partial_object_and_the_next_one_completes_it(
        tmp_path: Path, bucket: str, s3_server: S3Server):
    url = f"s3://{bucket}/team"
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(48 << 20))  # six 8 MiB parts
    digest = _digest(source.read_bytes())
    hx = digest.split(":")[1]
    final = f"{bucket}/team/objects/{hx[:2]}/{hx[2:]}"
    fs = s3_server.filesystem()
    env = dict(os.environ, **s3_server.env)
    writer = _writer(url, tmp_path / "tier-a", source, env)
    # kill it once its upload is under way: parts sent, nothing published
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        uploads = fs.call_s3("list_multipart_uploads", Bucket=bucket).get("Uploads", [])
        parts = [fs.call_s3("list_parts", Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"]).get("Parts", [])
                 for u in uploads]
        if any(parts):
            break
        assert writer.poll() is None, writer.communicate()
        time.sleep(0.05)
    else:
        pytest.fail("the upload never started")
    assert all(u["Key"].startswith("team/tmp/") for u in uploads)  # the temporary key, never the final one
    writer.send_signal(signal.SIGKILL)
    writer.wait(30)
    assert not fs.exists(final)
    reader = RemoteStore(url, local_root=tmp_path / "tier-b")
    assert not reader.has(digest)
    with pytest.raises(StoreError, match="is missing"):
        reader.path(digest)
    # the next writer (another machine) completes it
    again = _writer(url, tmp_path / "tier-c", source, env)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert out.split() == ["published", digest]
    reader = RemoteStore(url, local_root=tmp_path / "tier-d")
    assert reader.path(digest).read_bytes() == source.read_bytes()
    # what the killed writer left is an unpublished temporary upload; gc clears tmp/
    assert [k for k in _keys(s3_server, f"{bucket}/team") if "/tmp/" in k] == []


def test_two_writers_of_one_object_at_once_both_succeed(tmp_path: Path, bucket: str, s3_server: S3Server):
    url = f"s3://{bucket}/team"
    source = tmp_path / "shared.bin"
    source.write_bytes(os.urandom(20 << 20))
    digest = _digest(source.read_bytes())
    env = dict(os.environ, **s3_server.env)
    writers = [_writer(url, tmp_path / f"tier-{i}", source, env) for i in range(2)]
    for w in writers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
        assert out.split() == ["published", digest]
    fresh = RemoteStore(url, local_root=tmp_path / "tier-fresh")
    assert fresh.get_bytes(digest) == source.read_bytes()
    assert [info.digest for info in fresh.iter_objects()] == [digest]


def test_any_fsspec_url_works_the_same_way_a_file_url_here(tmp_path: Path):
    shared = tmp_path / "share"
    a = open_store(f"file://{shared}", environ={"NOTELOCK_STORE_CACHE": str(tmp_path / "tier-a")})
    assert isinstance(a, RemoteStore)
    digest = a.put_bytes(b"over a mounted share\n")
    hx = digest.split(":")[1]
    assert (shared / "objects" / hx[:2] / hx[2:]).read_bytes() == b"over a mounted share\n"
    assert not any((shared / "tmp").iterdir())
    b = open_store(f"file://{shared}", environ={"NOTELOCK_STORE_CACHE": str(tmp_path / "tier-b")})
    assert b.get_bytes(digest) == b"over a mounted share\n"
    assert [info.digest for info in b.iter_objects()] == [digest]


def test_uploads_left_in_tmp_by_a_dead_writer_are_cleared_and_never_listed_as_objects(
        tmp_path: Path, bucket: str, s3_server: S3Server):
    store = RemoteStore(f"s3://{bucket}/team", local_root=tmp_path / "a")
    digest = store.put_bytes(b"published\n")
    fs = s3_server.filesystem()
    fs.pipe_file(f"{bucket}/team/tmp/{digest.split(':')[1]}-999-deadbeef", b"an upload whose writer died")
    assert [info.digest for info in store.iter_objects()] == [digest]
    assert store.clean_tmp(older_than_s=3600) == 0  # a recent upload may still be published
    assert store.clean_tmp(older_than_s=0) == 1
    assert _keys(s3_server, f"{bucket}/team/tmp") == []
    assert store.get_bytes(digest) == b"published\n"
