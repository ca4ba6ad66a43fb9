"""Hostile input, table-driven: every bad lock file, CLI argument and magic
option gets a clear one-line error (or the documented behaviour), never a
traceback, a hang, or a half-written file. The counts are printed at the end
(``pytest -s``) for the record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from notelock.core import lockfile

pytestmark = pytest.mark.slow
TALLY = {"tried": 0, "clean": 0, "tracebacks": 0}


def _good_lock() -> dict:
    rid, read = lockfile.make_node("read", {"reader": "pandas.read_csv", "options": {}, "content": "xxh3_128:" + "1" * 32,
                                            "inputs": []}, {"rows": 3, "columns": 2, "output": "xxh3_128:" + "2" * 32})
    cells = [{"source": "df = pd.read_csv('x.csv')", "locked": True, "nodes": [rid], "execution_count": 1}]
    return {"notelock": lockfile.FORMAT_VERSION, "identity": lockfile.lock_identity(cells), "cells": cells,
            "nodes": {rid: read}, "schemas": {}}


def _with(**changes) -> bytes:
    data = _good_lock()
    data.update(changes)
    return json.dumps(data).encode()


def _edited_node(key: str, value) -> bytes:
    data = _good_lock()
    node = next(iter(data["nodes"].values()))
    node[key] = value
    return json.dumps(data).encode()


HOSTILE_LOCKS: dict[str, bytes | str] = {
    "deep nesting": b"[" * 200_000 + b"]" * 200_000,
    "deep object": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "5000-digit integer": b'{"notelock": ' + b"9" * 5000 + b"}",
    "not JSON": b"\x00\xff garbage",
    "not UTF-8": b'{"notelock": "\xff\xfe"}',
    "truncated": json.dumps(_good_lock()).encode()[:50],
    "empty": b"",
    "a list": b"[1, 2, 3]",
    "environment is a list": _with(environment=[]),
    "workflow is a string": _with(workflow="x"),
    "run is a number": _with(run=5),
    "durations are strings": _with(run={"durations_s": {"x": "slow"}}),
    "rows is a string": _edited_node("rows", "many"),
    "rows is enormous": _edited_node("rows", 10 ** 40),
    "cells is an object": _with(cells={}),
    "a cell without source": _with(cells=[{"locked": True}]),
    "unknown op": _edited_node("op", "dance"),
    "edited parameters": _edited_node("options", {"sep": ";"}),
    "edge to a missing node": _edited_node("inputs", ["@read_000000000000"]),
    "wrong version": _with(notelock=1),
    "identity edited": _with(identity="xxh3_128:" + "f" * 32),
    "FIFO": "fifo",
    "symlink to /dev/zero": "devzero",
    "a directory": "dir",
    "missing": "missing",
}


def _materialise(folder: Path, name: str, content: bytes | str) -> Path:
    path = folder / "hostile.lock.json"
    if content == "fifo":
        os.mkfifo(path)
    elif content == "devzero":
        path.symlink_to("/dev/zero")
    elif content == "dir":
        path.mkdir()
    elif content != "missing":
        path.write_bytes(content)  # type: ignore[arg-type]
    return path


def _cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "notelock", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def _assert_clean(proc: subprocess.CompletedProcess, codes: tuple[int, ...] = (1, 2)) -> None:
    TALLY["tried"] += 1
    out = proc.stdout + proc.stderr
    if "Traceback" in out:
        TALLY["tracebacks"] += 1
    assert "Traceback" not in out, out[-2000:]
    assert proc.returncode in codes, out[-2000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(errors) == 1 and errors[0].startswith("notelock: error:"), proc.stderr[-2000:]
    TALLY["clean"] += 1


@pytest.mark.parametrize("name", sorted(HOSTILE_LOCKS))
@pytest.mark.parametrize("verb", [["show"], ["show", "--json"], ["diff", "{lock}", "{lock}"], ["replay"],
                                  ["verify", "--runs", "1"], ["log"]])
def test_every_verb_refuses_a_hostile_lock_in_one_line(tmp_path: Path, name: str, verb: list[str]):
    path = _materialise(tmp_path, name, HOSTILE_LOCKS[name])
    args = [a.replace("{lock}", str(path)) for a in verb]
    if "{lock}" not in " ".join(verb):
        args.append(str(path))
    if verb == ["log"] and name not in ("missing",):
        args = ["log", str(path)]
    proc = _cli(*args, cwd=tmp_path)
    if verb == ["log"] and proc.returncode == 0:
        # log reads the history index, not the lock: a lock it cannot read is still one line
        TALLY["tried"] += 1
        TALLY["clean"] += 1
        assert "Traceback" not in proc.stdout + proc.stderr
        return
    _assert_clean(proc)


BAD_ARGUMENTS = [
    ["replay", "x.lock.json", "--timeout", "-1"],
    ["replay", "x.lock.json", "--timeout", "abc"],
    ["replay", "x.lock.json", "--timeout", "inf"],
    ["gc", ".", "--min-age", "-5"],
    ["verify", "x.lock.json", "--runs", "0"],
    ["verify", "x.lock.json", "--runs", "1000000"],
    ["lock", "nb.ipynb", "--jobs", "0"],
    ["lock", "nb.ipynb", "--timeout", "0"],
    ["lock", "missing.ipynb"],
    ["lock", "notes.txt"],
    ["gc", "missing-folder"],
    ["store", "du", "missing-folder"],
    ["diff", "a.lock.json"],
    ["nonsense"],
]


@pytest.mark.parametrize("args", BAD_ARGUMENTS, ids=lambda a: " ".join(a))
def test_bad_arguments_are_one_line(tmp_path: Path, args: list[str]):
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "x.lock.json").write_bytes(json.dumps(_good_lock()).encode())
    _assert_clean(_cli(*args, cwd=tmp_path))


def test_replay_with_an_unknown_kernel_or_an_unwritable_out_is_one_line(tmp_path: Path):
    import nbformat

    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), tmp_path / "nb.ipynb")
    assert _cli("lock", "nb.ipynb", cwd=tmp_path, timeout=300).returncode == 0
    _assert_clean(_cli("replay", "nb.lock.json", "--kernel", "nope", cwd=tmp_path, timeout=300))
    _assert_clean(_cli("replay", "nb.lock.json", "--out", "/proc/x.lock.json", cwd=tmp_path, timeout=300))
    _assert_clean(_cli("replay", "nb.lock.json", "--out", str(tmp_path / "no" / "such" / "x.json"), cwd=tmp_path,
                       timeout=300))


def test_a_notebook_name_at_the_file_system_limit_gets_its_lock(tmp_path: Path):
    import nbformat

    # the longest notebook name whose lock name (.ipynb → .lock.json) still fits in 255 bytes
    stem = "n" * (255 - len(".lock.json"))
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), tmp_path / f"{stem}.ipynb")
    proc = _cli("lock", f"{stem}.ipynb", cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / f"{stem}.lock.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".nl-")]  # nothing left behind
    # one byte more and the lock's name cannot exist: said in one line, before anything runs
    longer = "m" * (256 - len(".lock.json"))
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), tmp_path / f"{longer}.ipynb")
    proc = _cli("lock", f"{longer}.ipynb", cwd=tmp_path, timeout=300)
    _assert_clean(proc)
    assert "longer than the file system allows" in proc.stderr


def test_tally(capsys):
    with capsys.disabled():
        print(f"\nhostile inputs (CLI): tried {TALLY['tried']}, clean one-line errors {TALLY['clean']}, "
              f"tracebacks {TALLY['tracebacks']}")
    assert TALLY["tracebacks"] == 0
