"""core/status.py: a notebook against its lock, one state and what explains it.

Locks are written by a real Session (the fast layer: no kernel) with the
workflow section the kernel adds, and notebooks are real nbformat-4.5 files
changed the way JupyterLab changes them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xxhash

from notelock.core import lockfile
from notelock.core.recorder import Session
from notelock.core.status import STATES, notebook_status
from notelock.core.workflow import WorkflowTracker

CELLS = [
    ("c1", "import pandas as pd"),
    ("c2", "%%lock\ndf = pd.read_csv('t.csv')"),
    ("c3", "%%lock\ntotal = df['x'].sum()"),
]


def write_notebook(path: Path, cells, display_name: str = "Python 3") -> None:
    nb = {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": display_name, "language": "python"}},
        "cells": [{"cell_type": "code", "id": cid, "metadata": {}, "execution_count": None, "outputs": [],
                   "source": src} for cid, src in cells],
    }
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


def record(folder: Path, ran, notebook_cells=None) -> Path:
    """Run *ran* (cell id, source) in a Session and write its lock as the kernel does."""
    nb = folder / "nb.ipynb"
    write_notebook(nb, notebook_cells if notebook_cells is not None else ran)
    session = Session(folder / "nb.lock.json", nb, {"__name__": "__main__", "pd": pd, "np": np})
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        for count, (cid, source) in enumerate(ran, start=1):
            locked = source.startswith("%%lock")
            code = source.split("\n", 1)[1] if locked else source
            session.begin_cell(source, code, locked=locked, cell_id=cid)
            exec(compile(code, "<cell>", "exec"), session.ns)  # noqa: S102 - the cell
            session.end_cell(None, execution_count=count)
    finally:
        os.chdir(cwd)
    lock = session.to_lock()
    lock["workflow"] = WorkflowTracker(nb).snapshot([c["source"] for c in lock["cells"] if "superseded_by" not in c])
    lockfile.write_lock(folder / "nb.lock.json", lock)
    return nb


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    pd.DataFrame({"x": [1.0, 2.0, 3.0]}).to_csv(tmp_path / "t.csv", index=False)
    return tmp_path


def test_a_fresh_lock_is_up_to_date_and_its_checksum_is_nbstripouts(folder):
    nb = record(folder, CELLS)
    status = notebook_status(nb)
    assert status.state == "up to date", status.message
    assert status.cells == status.fields == status.drifted == []
    lock = json.loads((folder / "nb.lock.json").read_text())
    assert lock["workflow"]["checksum"] == status.checksum
    # workflow.checksum stays exactly `nbstripout -t | git hash-object --stdin`
    import hashlib
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "nbstripout", "-t", str(nb)], capture_output=True, check=True).stdout
    assert hashlib.sha1(b"blob %d\0" % len(out) + out).hexdigest() == status.checksum  # noqa: S324


def test_a_save_that_only_rewrites_the_kernel_display_name_is_metadata_not_code(folder):
    nb = record(folder, CELLS)
    write_notebook(nb, CELLS, display_name="Python 3 (ipykernel)")
    status = notebook_status(nb)
    assert status.state == "metadata changed"
    assert status.fields == ["metadata.kernelspec.display_name"]
    assert "code changed" not in status.message and "kernelspec.display_name" in status.message


def test_an_edited_cell_is_code_changed_and_named(folder):
    nb = record(folder, CELLS)
    write_notebook(nb, [CELLS[0], CELLS[1], ("c3", "%%lock\ntotal = df['x'].mean()")])
    status = notebook_status(nb)
    assert status.state == "code changed"
    assert [(c["index"], c["cell_id"], c["change"], c["line"]) for c in status.cells] == [
        (3, "c3", "edited", "total = df['x'].mean()")]
    assert "cell 3" in status.message


def test_a_removed_and_a_new_cell_are_code_changed(folder):
    nb = record(folder, CELLS)
    write_notebook(nb, [CELLS[0], CELLS[1], ("c9", "print(df.shape)")])
    status = notebook_status(nb)
    assert status.state == "code changed"
    assert sorted(c["change"] for c in status.cells) == ["not run", "removed"]


def test_code_run_but_not_saved_is_ran_unsaved_code(folder):
    # the kernel ran an edit of c3 that the saved notebook does not hold
    edited = [CELLS[0], CELLS[1], ("c3", "%%lock\ntotal = df['x'].max()")]
    nb = record(folder, edited, notebook_cells=CELLS)
    assert json.loads((folder / "nb.lock.json").read_text())["workflow"]["saved"] is False
    status = notebook_status(nb)
    assert status.state == "ran unsaved code"
    assert [(c["index"], c["change"]) for c in status.cells] == [(3, "unsaved")]
    # once saved, the notebook holds what ran: no longer unsaved, and not "code changed" either
    write_notebook(nb, edited)
    assert notebook_status(nb).state == "metadata changed"


def test_a_re_executed_cell_compares_by_its_last_execution(folder):
    rerun = [*CELLS, ("c3", "%%lock\ntotal = df['x'].sum() + 1")]
    nb = record(folder, rerun, notebook_cells=[CELLS[0], CELLS[1], rerun[-1]])
    status = notebook_status(nb)
    assert status.state == "up to date", status.message


def test_a_changed_input_file_drifts_with_stat_and_with_hash(folder):
    nb = record(folder, CELLS)
    csv = folder / "t.csv"
    recorded = "xxh3_128:" + xxhash.xxh3_128_hexdigest(csv.read_bytes())
    # same size, other bytes: only a hash sees it
    csv.write_bytes(csv.read_bytes().replace(b"1.0", b"7.0"))
    assert notebook_status(nb, inputs="stat").state == "up to date"
    status = notebook_status(nb, inputs="hash")
    assert status.state == "inputs drifted"
    [d] = status.drifted
    assert d["path"] == "t.csv" and d["reason"] == "content" and d["recorded"] == recorded
    assert d["current"] == "xxh3_128:" + xxhash.xxh3_128_hexdigest(csv.read_bytes())
    # the hash is remembered for this size and mtime: a cheap check now sees it too
    assert notebook_status(nb, inputs="stat").state == "inputs drifted"
    # another size: drifted without reading
    csv.write_text("x\n1.0\n")
    assert notebook_status(nb, inputs="stat").drifted[0]["reason"] == "size"
    csv.unlink()
    assert notebook_status(nb).drifted[0]["reason"] == "missing"


def test_an_unreadable_lock_says_why_and_how_to_recover(folder):
    nb = record(folder, CELLS)
    lock = folder / "nb.lock.json"
    lock.write_text(lock.read_text()[:200], encoding="utf-8")
    status = notebook_status(nb)
    assert status.state == "unreadable"
    assert "nb.lock.json" in status.message and str(folder) not in status.message
    assert "notelock lock nb.ipynb" in status.recovery and "notelock log nb.ipynb" in status.recovery


def test_no_lock_is_missing_and_every_state_is_json(folder):
    nb = folder / "nb.ipynb"
    write_notebook(nb, CELLS)
    status = notebook_status(nb)
    assert status.state == "missing"
    data = json.loads(json.dumps(status.to_json()))
    assert set(data) == {"state", "message", "cells", "fields", "drifted", "checksum", "recovery", "inputs"}
    assert data["state"] in STATES
