"""Workflow identity and environment capture through real kernels (and real git,
real nbstripout): what code ran, where, with which seeds — never a secret."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from kernel_utils import outputs_text, run_notebook
from notelock.core.lockfile import load_lock

pytestmark = [pytest.mark.kernel, pytest.mark.slow]
ENV = {"FRAUD_ROWS": "2000"}
NBSTRIPOUT = shutil.which("nbstripout") or str(Path(sys.executable).with_name("nbstripout"))


def stripped_blob_hash(path: Path) -> str:
    """`nbstripout -t NB | git hash-object --stdin`, as real subprocesses."""
    strip = subprocess.run([NBSTRIPOUT, "-t", str(path)], check=True, capture_output=True)
    blob = subprocess.run(["git", "hash-object", "--stdin"], input=strip.stdout, check=True,
                          capture_output=True)
    return blob.stdout.decode().strip()


def git(folder: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    return subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True, text=True,
                          env=env).stdout


def _edit_cell(path: Path, old: str, new: str) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if old in cell.source:
            cell.source = cell.source.replace(old, new)
    nbformat.write(nb, path)


def test_checksum_matches_nbstripout_pipeline_for_the_example(fraud_dir: Path):
    nb_path = fraud_dir / "fraud_detection.ipynb"
    run_notebook(nb_path, env=ENV, save=False)
    lock = load_lock(fraud_dir / "fraud_detection.lock.json")
    assert lock["workflow"]["checksum"] == stripped_blob_hash(nb_path)
    assert lock["workflow"]["saved"] is True


def test_checksum_ignores_outputs_counts_and_widget_metadata(tmp_path: Path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    nb.cells = [nbformat.v4.new_code_cell("%load_ext notelock"),
                nbformat.v4.new_code_cell("%%lock\nx = sum(range(10))\nx", execution_count=7,
                                          outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "45"},
                                                                          execution_count=7)])]
    path = tmp_path / "widgets.ipynb"
    nbformat.write(nb, path)
    run_notebook(path, save=False)
    lock = load_lock(tmp_path / "widgets.lock.json")
    assert lock["workflow"]["checksum"] == stripped_blob_hash(path)


def test_runs_are_stable_and_edits_change_only_the_checksum_and_git_state(fraud_dir: Path):
    nb_path = fraud_dir / "fraud_detection.ipynb"
    git(fraud_dir, "init", "-q", "-b", "main")
    run_notebook(nb_path, env=ENV, save=False)  # generate the data once
    git(fraud_dir, "add", "fraud_detection.ipynb", "transactions.csv")
    git(fraud_dir, "commit", "-q", "-m", "notebook and data")
    lock_path = fraud_dir / "fraud_detection.lock.json"

    run_notebook(nb_path, env=ENV, save=False)
    first = load_lock(lock_path)
    run_notebook(nb_path, env=ENV, save=False)
    second = load_lock(lock_path)
    assert first["workflow"] == second["workflow"]
    assert first["environment"] == second["environment"]
    assert first["workflow"]["git"]["dirty"] is False
    assert first["workflow"]["git"]["commit"] == git(fraud_dir, "rev-parse", "HEAD").strip()

    _edit_cell(nb_path, "accuracy {accuracy:.4f}", "accuracy {accuracy:.3f}")
    edited_nb = run_notebook(nb_path, env=ENV, save=False)
    edited = load_lock(lock_path)
    assert edited["environment"] == first["environment"]
    changed = {k for k in first["workflow"] if first["workflow"][k] != edited["workflow"].get(k)}
    assert changed == {"checksum", "parts", "git"}
    # parts explain the checksum: the code changed, the markdown and metadata did not
    assert first["workflow"]["parts"]["code"] != edited["workflow"]["parts"]["code"]
    assert {k: v for k, v in first["workflow"]["parts"].items() if k != "code"} == \
        {k: v for k, v in edited["workflow"]["parts"].items() if k != "code"}
    assert edited["workflow"]["git"]["dirty"] is True
    assert edited["workflow"]["git"]["modified"] == ["fraud_detection.ipynb"]
    warnings = outputs_text(edited_nb).count("uncommitted changes in fraud_detection.ipynb")
    assert warnings == 1, "one dirty-tree warning per session"

    git(fraud_dir, "commit", "-q", "-am", "edit")
    run_notebook(nb_path, env=ENV, save=False)
    committed = load_lock(lock_path)
    assert committed["workflow"]["git"]["dirty"] is False
    assert committed["workflow"]["checksum"] == edited["workflow"]["checksum"]


def test_allow_dirty_is_silent_and_recorded(fraud_dir: Path):
    nb_path = fraud_dir / "fraud_detection.ipynb"
    git(fraud_dir, "init", "-q", "-b", "main")
    git(fraud_dir, "add", "fraud_detection.ipynb")
    git(fraud_dir, "commit", "-q", "-m", "nb")
    _edit_cell(nb_path, "accuracy {accuracy:.4f}", "accuracy {accuracy:.2f}")
    executed = run_notebook(nb_path, env={**ENV, "NOTELOCK_ALLOW_DIRTY": "1"}, save=False)
    lock = load_lock(fraud_dir / "fraud_detection.lock.json")
    assert lock["workflow"]["allow_dirty"] is True
    assert lock["workflow"]["git"]["dirty"] is True
    assert "uncommitted changes" not in outputs_text(executed)


def test_no_secret_reaches_the_lock_or_the_outputs(fraud_dir: Path):
    secrets = {"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY",
               "GITHUB_TOKEN": "ghp_0123456789abcdefABCDEF0123456789abcd",
               "DATABASE_URL": "postgresql://u:hunter2@h/db",
               "FRAUD_DB_URI": "file:fraud.db?mode=ro&password=s3cr3t-pw-77"}
    nb_path = fraud_dir / "fraud_detection.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "%%lock\ncon = sqlite3.connect(os.environ['FRAUD_DB_URI'], uri=True)\n"
        "via_uri = pd.read_sql_query('SELECT COUNT(*) AS n FROM transactions', con)\ncon.close()\ndel con"))
    nb.cells.append(nbformat.v4.new_code_cell("%lock env"))
    nb.cells.append(nbformat.v4.new_code_cell("%lock status"))
    nbformat.write(nb, nb_path)
    executed = run_notebook(nb_path, env={**ENV, **secrets}, save=False)
    text = (fraud_dir / "fraud_detection.lock.json").read_text(encoding="utf-8")
    shown = outputs_text(executed)
    for value in ("wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY", "ghp_0123456789abcdefABCDEF0123456789abcd",
                  "hunter2", "s3cr3t-pw-77"):
        assert value not in text
        assert value not in shown
    lock = json.loads(text)
    assert any(n.get("connection") == "sqlite:///fraud.db" for n in lock["nodes"].values())


def test_no_git_no_gpu_readonly_home_still_gives_a_complete_lock(fraud_dir: Path, tmp_path: Path):
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    env = {**ENV, "PATH": str(empty_bin), "HOME": str(blocker / "home"),
           "IPYTHONDIR": str(blocker / "ipython"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}
    executed = run_notebook(fraud_dir / "fraud_detection.ipynb", env=env, save=False)
    lock = load_lock(fraud_dir / "fraud_detection.lock.json")
    assert lock["workflow"]["git"] == {"repository": False}
    assert lock["environment"]["gpu"] is None
    assert lock["environment"]["packages"]["pandas"] == pd.__version__
    assert {n["op"] for n in lock["nodes"].values()} >= {"read", "fit", "predict", "cell"}
    assert "Traceback" not in outputs_text(executed)


def test_seed_is_recorded_and_rng_state_hashed_per_cell(kernel, tmp_path: Path):
    kernel.ok("import random, numpy as np")
    kernel.ok("%%lock\na = random.random()")
    out = kernel.ok("%lock seed 7")
    assert "seeded" in out["stdout"] and "7" in out["stdout"]
    kernel.ok("%%lock\nb = np.random.rand(3)")
    kernel.ok("%lock seed 7")
    kernel.ok("%%lock\nc = np.random.rand(3)")
    lock = load_lock(tmp_path / "scratch.lock.json")
    assert lock["environment"]["seeds"]["seed"] == 7
    cells = [lock["nodes"][c["node"]] for c in lock["cells"] if c.get("node")]
    assert cells[1]["rng_state"] == cells[2]["rng_state"] != cells[0]["rng_state"]
    assert cells[1]["writes"]["b"] == cells[2]["writes"]["c"]
