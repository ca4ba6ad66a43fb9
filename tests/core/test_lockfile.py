"""The lock model: canonical bytes, identity, validation errors, atomic writes."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
import xxhash

from notelock.core import canonical, lockfile
from notelock.core.errors import LockFileError
from notelock.core.hashing import hash_json


def _node(op: str, payload: dict, inputs=()) -> tuple[str, dict]:
    identity = hash_json({"op": op, **payload})
    node = {"op": op, **payload, "identity": identity, "inputs": list(inputs),
            "output": "xxh3_128:" + xxhash.xxh3_128_hexdigest(repr(payload).encode())}
    return lockfile.node_id(op, identity), node


def make_lock() -> dict:
    rid, read = _node("read", {"reader": "pandas.read_csv", "content": "xxh3_128:" + "0" * 32, "options": {}})
    fid, fit = _node("fit", {"method": "fit", "estimator": "sklearn.linear_model.LogisticRegression"}, [rid])
    cells = [{"source": "df = pd.read_csv('x.csv')", "locked": True, "nodes": [rid]},
             {"source": "m.fit(df)", "locked": True, "nodes": [fid]}]
    return {"notelock": 1, "identity": lockfile.lock_identity(cells), "cells": cells,
            "nodes": {rid: read, fid: fit}, "schemas": {}, "run": {"started": "now"}}


def test_lock_path_beside_notebook():
    assert lockfile.lock_path_for("a/fraud.ipynb") == Path("a/fraud.lock.json")


def test_identity_is_hash_of_node_ids_in_order():
    lock = make_lock()
    ids = [nid for c in lock["cells"] for nid in c["nodes"]]
    expected = "xxh3_128:" + xxhash.xxh3_128_hexdigest(json.dumps(ids, separators=(",", ":")).encode())
    assert lock["identity"] == expected


def test_canonical_text_is_stable_and_sorted(tmp_path: Path):
    lock = make_lock()
    path = tmp_path / "x.lock.json"
    lockfile.write_lock(path, lock)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert text == json.dumps(lock, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert lockfile.load_lock(path) == lock


def test_truncated_lock_is_rejected_in_one_line(tmp_path: Path):
    path = tmp_path / "fraud.lock.json"
    lockfile.write_lock(path, make_lock())
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(LockFileError) as err:
        lockfile.load_lock(path)
    message = str(err.value)
    assert message.startswith("fraud.lock.json: invalid JSON")
    assert "\n" not in message


def test_unknown_input_named_precisely(tmp_path: Path):
    lock = make_lock()
    fid = next(n for n in lock["nodes"] if n.startswith("@fit_"))
    rid = next(n for n in lock["nodes"] if n.startswith("@read_"))
    del lock["nodes"][rid]
    lock["cells"][0]["nodes"] = []
    lock["identity"] = lockfile.lock_identity(lock["cells"])
    path = tmp_path / "fraud.lock.json"
    path.write_text(canonical.dumps(lock))
    with pytest.raises(LockFileError) as err:
        lockfile.load_lock(path)
    assert str(err.value) == f'fraud.lock.json: nodes["{fid}"].inputs: unknown node {rid}'


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d.update(notelock=2), "format version 2 is not supported"),
    (lambda d: d.pop("notelock"), "missing format version"),
    (lambda d: d.update(identity="xxh3_128:" + "f" * 32), "identity: does not match"),
    (lambda d: d.update(cells="x"), "cells: expected array"),
])
def test_invalid_locks_rejected(tmp_path: Path, mutate, fragment):
    lock = make_lock()
    mutate(lock)
    with pytest.raises(LockFileError, match=fragment):
        lockfile.loads_lock(json.dumps(lock), "x.lock.json")


def test_empty_and_missing_files(tmp_path: Path):
    with pytest.raises(LockFileError, match="no such lock file"):
        lockfile.load_lock(tmp_path / "nope.lock.json")
    (tmp_path / "empty.lock.json").write_text("")
    with pytest.raises(LockFileError, match="empty file"):
        lockfile.load_lock(tmp_path / "empty.lock.json")


def test_failed_write_leaves_previous_file_intact(tmp_path: Path):
    path = tmp_path / "x.lock.json"
    lockfile.write_lock(path, make_lock())
    before = path.read_bytes()
    bad = make_lock()
    bad["identity"] = "nonsense"
    with pytest.raises(LockFileError):
        lockfile.write_lock(path, bad)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_concurrent_writers_never_tear_the_file(tmp_path: Path):
    path = tmp_path / "x.lock.json"
    locks = []
    for i in range(4):
        lock = make_lock()
        lock["run"]["started"] = "x" * (i * 20000)  # different sizes
        locks.append(lock)
    errors = []

    def writer(lock):
        try:
            for _ in range(10):
                lockfile.write_lock(path, lock)
                lockfile.load_lock(path)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(lock,)) for lock in locks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert lockfile.load_lock(path) in locks


def test_on_replace_receives_previous_bytes(tmp_path: Path):
    path = tmp_path / "x.lock.json"
    first = make_lock()
    lockfile.write_lock(path, first)
    old = path.read_bytes()
    second = make_lock()
    second["run"]["started"] = "later"
    seen = []
    lockfile.write_lock(path, second, on_replace=seen.append)
    assert seen == [old]
    assert os.stat(path).st_size > 0
