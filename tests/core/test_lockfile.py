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
from notelock.core.hashing import hash_bytes


def _node(op: str, payload: dict, inputs=()) -> tuple[str, dict]:
    node = {"op": op, **payload, "inputs": list(inputs),
            "output": "xxh3_128:" + xxhash.xxh3_128_hexdigest(repr(payload).encode())}
    node["identity"] = lockfile.node_identity(node)
    return lockfile.node_id(op, node["identity"]), node


def make_lock() -> dict:
    rid, read = _node("read", {"reader": "pandas.read_csv", "content": "xxh3_128:" + "0" * 32, "options": {},
                               "rows": 3})
    fid, fit = _node("fit", {"method": "fit", "estimator": "sklearn.linear_model.LogisticRegression",
                             "params": {"C": 1.0}}, [rid])
    cells = [{"source": "df = pd.read_csv('x.csv')", "locked": True, "nodes": [rid]},
             {"source": "m.fit(df)", "locked": True, "nodes": [fid]}]
    for cell in cells:
        cell["source_hash"] = hash_bytes(cell["source"].encode())
    return {"notelock": lockfile.FORMAT_VERSION, "identity": lockfile.lock_identity(cells), "cells": cells,
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


def _edit_node(d, key, value):
    nid = next(n for n, node in d["nodes"].items() if key in node)
    d["nodes"][nid][key] = value


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d.update(notelock=1), "format version 1 is not supported.*rebuild the lock"),
    (lambda d: d.update(notelock=99), "format version 99 is not supported"),
    (lambda d: d.pop("notelock"), "missing format version"),
    (lambda d: d.update(identity="xxh3_128:" + "f" * 32), "identity: does not match"),
    (lambda d: d.update(cells="x"), "cells: expected array"),
    # valid JSON of the wrong types
    (lambda d: d.update(environment=[]), "environment: expected object, got array"),
    (lambda d: d.update(workflow="x"), "workflow: expected object, got string"),
    (lambda d: d.update(run={"durations_s": {"x": "slow"}}), r"run.durations_s.x: expected number"),
    (lambda d: _edit_node(d, "rows", "many"), r"rows: expected integer, got string"),
    (lambda d: _edit_node(d, "rows", 10 ** 30), r"rows: must be at most"),
    # edited by hand: the content no longer matches its identity
    (lambda d: _edit_node(d, "params", {"C": 100.0}), "its content no longer matches its identity"),
    (lambda d: d["cells"][0].update(source="import os; os.system('x')"), r"cells\[0\].source: does not match"),
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
