"""The content store: atomic, verified, safe for concurrent writers; eviction and gc."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xxhash

from notelock.cli import main
from notelock.core.errors import StoreError
from notelock.core.store import Store, parse_size, store_for

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _digest(data: bytes) -> str:
    return "xxh3_128:" + xxhash.xxh3_128_hexdigest(data)


def test_put_bytes_is_addressed_by_xxh3_128_and_read_back_verified(tmp_path: Path):
    store = Store(tmp_path / ".notelock")
    digest = store.put_bytes(b"hello")
    assert digest == _digest(b"hello")
    hx = digest.split(":")[1]
    assert store.object_path(digest) == tmp_path / ".notelock" / "objects" / hx[:2] / hx[2:]
    assert store.get_bytes(digest) == b"hello"
    assert store.path(digest).read_bytes() == b"hello"
    assert store.put_bytes(b"hello") == digest and list(store) == [digest]
    assert not list((tmp_path / ".notelock" / "tmp").iterdir())


def test_put_file_is_a_copy_that_survives_the_source_being_rewritten_in_place(tmp_path: Path):
    src = tmp_path / "t.csv"
    src.write_bytes(b"a,b\n1,2\n")
    store = Store(tmp_path / "s")
    digest = store.put_file(src)
    with open(src, "r+b") as fh:  # in place, as to_csv does: a hard link would follow it
        fh.write(b"x")
    assert store.get_bytes(digest) == b"a,b\n1,2\n"


def test_corrupted_object_is_reported_by_name_moved_aside_and_then_missing(tmp_path: Path):
    store = Store(tmp_path / "s")
    digest = store.put_bytes(b"original bytes")
    path = store.object_path(digest)
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered bytes")
    fresh = Store(store.root)  # another process: no verification memo
    with pytest.raises(StoreError) as err:
        fresh.path(digest)
    assert digest.split(":")[1][:12] in str(err.value) and "corrupted" in str(err.value)
    assert not fresh.has(digest)
    assert len(list((store.root / "corrupt").iterdir())) == 1
    with pytest.raises(StoreError, match="missing"):
        fresh.get_bytes(digest)
    # writing the content again repairs the store
    assert fresh.put_bytes(b"original bytes") == digest and fresh.get_bytes(digest) == b"original bytes"


def test_corruption_is_also_caught_by_get_bytes(tmp_path: Path):
    store = Store(tmp_path / "s")
    digest = store.put_bytes(b"abc")
    os.chmod(store.object_path(digest), 0o644)
    store.object_path(digest).write_bytes(b"abd")
    with pytest.raises(StoreError, match="corrupted"):
        store.get_bytes(digest)


_WRITER = """
import sys, time
from pathlib import Path
from notelock.core.store import Store
store, src, go, mode = Store(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
data = src.read_bytes() if mode == "bytes" else None
while not go.exists():
    time.sleep(0.001)
print(store.put_bytes(data) if mode == "bytes" else store.put_file(src, link=False))
"""


def test_two_processes_writing_the_same_200mb_object_leave_one_valid_object(tmp_path: Path):
    src = tmp_path / "big.bin"
    block = os.urandom(1 << 20)
    with open(src, "wb") as fh:
        for i in range(200):  # 200 MiB, every MiB different
            fh.write(i.to_bytes(4, "little") + block[4:])
    expected = "xxh3_128:" + _hash_file(src)
    root, go = tmp_path / "store", tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=SRC)
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(root), str(src), str(go), mode],
                              stdout=subprocess.PIPE, text=True, env=env) for mode in ("bytes", "file")]
    time.sleep(1.0)  # both started and waiting
    go.touch()
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs == [expected, expected]
    store = Store(root)
    assert list(store) == [expected]
    assert store.size(expected) == 200 << 20
    assert store.verify(expected)
    assert not list((root / "tmp").iterdir())


def _hash_file(path: Path) -> str:
    h = xxhash.xxh3_128()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def test_store_for_defaults_beside_the_lock_and_honours_notelock_store(tmp_path: Path):
    lock = tmp_path / "nb.lock.json"
    assert store_for(lock, environ={}).root == tmp_path / ".notelock"
    assert store_for(lock, environ={"NOTELOCK_STORE": "shared"}).root == tmp_path / "shared"
    assert store_for(lock, environ={"NOTELOCK_STORE": str(tmp_path / "x")}).root == tmp_path / "x"


def test_eviction_drops_least_recently_used_cache_objects_never_pinned_ones(tmp_path: Path):
    store = Store(tmp_path / "s")
    pinned = store.put_bytes(b"p" * 1000)
    old = store.put_bytes(b"o" * 1000)
    new = store.put_bytes(b"n" * 1000)
    key_old, key_new, key_pin = ("xxh3_128:" + c * 32 for c in "abc")
    store.put_entry(key_old, {"x": 1}, [old])
    store.put_entry(key_pin, {"x": 2}, [pinned])
    store.put_entry(key_new, {"x": 3}, [new])
    past = time.time() - 100
    os.utime(store.entry_path(key_pin), (past - 10, past - 10))
    os.utime(store.entry_path(key_old), (past, past))
    dropped = store.evict_to(2500, pinned={pinned})
    assert dropped == [store.entry_name(key_pin), store.entry_name(key_old)]
    assert store.has(pinned) and not store.has(old) and store.has(new)
    assert store.get_entry(key_new) == {"x": 3, "objects": [new]}


def test_damaged_cache_entry_reads_as_absent(tmp_path: Path):
    store = Store(tmp_path / "s")
    key = "xxh3_128:" + "d" * 32
    store.put_entry(key, {"seconds": 1.0}, [])
    raw = json.loads(store.entry_path(key).read_text())
    raw["entry"]["seconds"] = 0.0
    store.entry_path(key).write_text(json.dumps(raw))
    assert store.get_entry(key) is None


def test_parse_size():
    assert parse_size("1GiB") == 1 << 30 and parse_size("500MB") == 500 * 10**6
    assert parse_size("2048") == 2048
    with pytest.raises(ValueError):
        parse_size("lots")


def test_gc_is_a_dry_run_by_default_and_keeps_what_locks_reference(tmp_path: Path, capsys):
    store = Store(tmp_path / ".notelock")
    pinned = store.put_bytes(b"snapshot bytes")
    garbage = store.put_bytes(b"garbage bytes")
    lock = _minimal_lock(snapshot=pinned)
    (tmp_path / "nb.lock.json").write_text(json.dumps(lock))
    assert main(["gc", str(tmp_path), "--min-age", "0"]) == 0
    assert "would remove 1 objects" in capsys.readouterr().out
    assert store.has(garbage)
    assert main(["gc", str(tmp_path), "--min-age", "0", "--yes"]) == 0
    assert "removed 1 objects" in capsys.readouterr().out
    assert store.has(pinned) and not store.has(garbage)


def test_gc_spares_recent_objects(tmp_path: Path, capsys):
    store = Store(tmp_path / ".notelock")
    fresh = store.put_bytes(b"a kernel is writing this")
    assert main(["gc", str(tmp_path), "--yes"]) == 0
    assert store.has(fresh)
    assert "1 recent objects spared" in capsys.readouterr().out


def _minimal_lock(snapshot: str) -> dict:
    from notelock.core.lockfile import FORMAT_VERSION, lock_identity, make_node

    nid, node = make_node("read", {"reader": "pandas.read_csv", "options": {}, "content": snapshot, "inputs": []},
                          {"snapshot": snapshot, "snapshot_format": "file"})
    cells = [{"source": "x", "locked": True, "nodes": [nid]}]
    return {"notelock": FORMAT_VERSION, "identity": lock_identity(cells), "cells": cells, "nodes": {nid: node},
            "schemas": {}}
