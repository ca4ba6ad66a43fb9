"""``notelock show``: a readable summary of a lock file (no kernels)."""

from __future__ import annotations

from pathlib import Path

import pytest

from notelock.cli import main
from notelock.core.hashing import code_hash
from notelock.core.lockfile import FORMAT_VERSION, lock_identity, make_node, write_lock

READ, READ_NODE = make_node("read", {"reader": "pandas.read_csv", "options": {}, "content": "xxh3_128:" + "1" * 32,
                                     "inputs": []},
                            {"path": "t.csv", "rows": 12, "columns": 3, "output": "xxh3_128:" + "3" * 32})
CELL, CELL_NODE = make_node("cell", {"code": code_hash("df = pd.read_csv('t.csv')"), "reads": {}, "uses": {},
                                     "options": {}, "inputs": [], "nodes": [READ]},
                            {"writes": {"df": "xxh3_128:" + "3" * 32}})


@pytest.fixture
def lock_file(tmp_path: Path) -> Path:
    cells = [{"source": "%%lock\ndf = pd.read_csv('t.csv')", "execution_count": 1, "locked": True,
              "node": CELL, "nodes": [READ]}]
    data = {
        "notelock": FORMAT_VERSION, "identity": lock_identity(cells), "cells": cells,
        "nodes": {CELL: CELL_NODE, READ: READ_NODE},
        "workflow": {"notebook": "fraud.ipynb", "checksum": "a" * 40},
        "environment": {"python": {"version": "3.11.7"}, "packages": {"pandas": "2.2.2"}},
        "run": {"durations_s": {READ: 0.25}},
    }
    return write_lock(tmp_path / "fraud.lock.json", data)


def test_summary_shows_workflow_environment_nodes_and_edges(lock_file, capsys):
    assert main(["show", str(lock_file)]) == 0
    out = capsys.readouterr().out
    assert "fraud.ipynb" in out and "aaaaaaaaaaaa" in out
    assert "3.11.7" in out and "pandas 2.2.2" in out
    assert READ in out and "read_csv t.csv — 12 × 3" in out
    assert f"{CELL} ⊃ {READ}" in out


def test_json_is_the_canonical_lock(lock_file, capsys):
    assert main(["show", str(lock_file), "--json"]) == 0
    assert capsys.readouterr().out.encode() == lock_file.read_bytes()


def test_notebook_argument_shows_its_lock(lock_file, capsys):
    assert main(["show", str(lock_file.with_name("fraud.ipynb"))]) == 0
    assert READ in capsys.readouterr().out


@pytest.mark.parametrize("content, message", [(None, "no such lock file"), (b'{"notelock": 1', "invalid JSON")])
def test_unusable_lock_is_one_line_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "x.lock.json"
    if content is not None:
        path.write_bytes(content)
    assert main(["show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
