"""``notelock log``: the kept versions of a lock, with a header; a path that names nothing exits 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from notelock.core.history import keep_version
from notelock.core.lockfile import FORMAT_VERSION, lock_identity, make_node, write_lock


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "notelock", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def _lock(path: Path, content: str) -> Path:
    read, node = make_node("read", {"reader": "pandas.read_csv", "options": {}, "content": "xxh3_128:" + content * 32,
                                    "inputs": []}, {"path": "t.csv", "rows": 2, "columns": 1})
    cells = [{"source": "%%lock\ndf = pd.read_csv('t.csv')", "execution_count": 1, "locked": True, "nodes": [read]}]
    data = {"notelock": FORMAT_VERSION, "identity": lock_identity(cells), "cells": cells, "nodes": {read: node},
            "workflow": {"notebook": "nb.ipynb", "checksum": "a" * 40, "git": {"commit": "c0ffee1234567"}},
            "run": {"updated": "2026-01-02T03:04:05Z", "session": content}}
    return write_lock(path, data)


def test_log_of_a_missing_notebook_or_lock_exits_2_in_one_line(tmp_path: Path):
    for name, what in (("missing.ipynb", "no such notebook"), ("missing.lock.json", "no such lock file")):
        proc = _cli("log", name, cwd=tmp_path)
        assert proc.returncode == 2, proc.stdout
        assert proc.stderr.strip() == f"notelock: error: {name}: {what}"
        assert proc.stdout == ""
    assert not (tmp_path / ".notelock").exists()  # asking created nothing
    # the same as `show` does for the same path
    assert _cli("show", "missing.ipynb", cwd=tmp_path).returncode == 2


def test_log_lists_the_current_lock_and_kept_versions_under_a_header(tmp_path: Path):
    old = _lock(tmp_path / "nb.lock.json", "1")
    keep_version(old, old.read_bytes())
    _lock(tmp_path / "nb.lock.json", "2")
    proc = _cli("log", "nb.ipynb", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    header, *rows = proc.stdout.splitlines()
    assert header.split() == ["VERSION", "WHEN", "IDENTITY", "COMMIT", "CHANGE"]
    assert [r.split()[0] for r in rows] == ["nb.lock.json", "nb.lock.json~1"]
    # columns line up under the header
    assert all(r.index("2026-01-02T03:04:05Z") == header.index("WHEN") for r in rows[:1])
    assert "read t.csv: content changed" in rows[0]
