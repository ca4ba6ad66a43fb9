"""Shared by the data-stack tests: write a notebook, run it, call the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from kernel_utils import run_notebook

#: the test server's credentials (the password must appear in nothing notelock writes or prints)
PASSWORD = "s3cr3t-Wh4rf-9931"
USER = "analyst"
DATABASE = "fraud"


def write_notebook(path: Path, *cells: str) -> Path:
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path)
    return path


def run(path: Path, env: dict | None = None) -> dict:
    """Run the notebook in a fresh kernel; return its lock."""
    nb = run_notebook(path, env=env)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out
    return json.loads(path.with_name(path.stem + ".lock.json").read_text())


def notelock(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real ``notelock`` command line."""
    return subprocess.run([sys.executable, "-m", "notelock", *args], cwd=cwd, env=dict(os.environ, **(env or {})),
                          capture_output=True, text=True, timeout=600)


def reads(lock: dict) -> list[tuple[str, dict]]:
    return [(nid, n) for nid, n in lock["nodes"].items() if n["op"] == "read" and not n.get("superseded")]


def replay_json(folder: Path, lock: str, *extra: str, env: dict | None = None) -> tuple[int, dict]:
    proc = notelock("replay", lock, "--json", *extra, cwd=folder, env=env)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def lock_in(folder: Path, stem: str, cells: list[str] | tuple[str, ...]) -> dict:
    """Lock the notebook *stem*.ipynb of *cells* in *folder*, keep its lock as
    ``original.lock.json`` (what replays are run against), and return it."""
    lock = run(write_notebook(folder / f"{stem}.ipynb", *cells))
    shutil.copy(folder / f"{stem}.lock.json", folder / "original.lock.json")
    return lock


def reads_by_reader(lock: dict) -> dict[str, tuple[str, dict]]:
    """The lock's read nodes by reader name: (node id, node)."""
    return {n["reader"]: (nid, n) for nid, n in reads(lock)}


def assert_replays_reproduced(folder: Path) -> None:
    """``original.lock.json`` replays with every node reproduced."""
    code, report = replay_json(folder, "original.lock.json")
    assert code == 0, report
    assert {v["verdict"] for v in report["verdicts"]} == {"reproduced"}
