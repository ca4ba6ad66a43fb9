"""``notelock diff`` on two real runs of the example that differ only in ``max_depth``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from kernel_utils import ROOT, run_notebook
from notelock.core.lockfile import load_lock

pytestmark = [pytest.mark.kernel, pytest.mark.slow]
ENV = {"FRAUD_ROWS": "3000"}


def test_changed_max_depth_is_the_root_cause(tmp_path: Path):
    nb_path = tmp_path / "fraud_detection.ipynb"
    shutil.copy(ROOT / "notebooks" / "fraud_detection.ipynb", nb_path)
    run_notebook(nb_path, env=ENV)
    shutil.copy(tmp_path / "fraud_detection.lock.json", tmp_path / "depth10.lock.json")
    nb = nbformat.read(nb_path, as_version=4)
    fit_cell = next(c for c in nb.cells if "max_depth=10" in c.source)
    fit_cell.source = fit_cell.source.replace("max_depth=10", "max_depth=12")
    nbformat.write(nb, nb_path)
    run_notebook(nb_path, env=ENV)

    proc = subprocess.run([sys.executable, "-m", "notelock", "diff", "depth10.lock.json", "fraud_detection.ipynb",
                           "--json"], cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    diff = json.loads(proc.stdout)["diff"]
    b = load_lock(tmp_path / "fraud_detection.lock.json")
    [param] = diff["parameters"]
    assert param["lines"] == ["max_depth: 10 → 12"]
    root = {b["nodes"][n]["op"] for n in diff["root_causes"]}
    assert root == {"cell", "fit"}, diff["nodes"]
    [cell_root] = [n for n in diff["nodes"] if n["op"] == "cell" and n["status"] == "root cause"]
    assert cell_root["reasons"] == ["code changed"]
    assert {b["nodes"][n]["op"] for n in diff["consequences"]} == {"predict"}
    assert diff["data"] == [], "the reads did not change"
    [code] = diff["code"]
    assert "-model = RandomForestClassifier(n_estimators=200, max_depth=10" in code["diff"]
    assert "+model = RandomForestClassifier(n_estimators=200, max_depth=12" in code["diff"]

    text = subprocess.run([sys.executable, "-m", "notelock", "diff", "depth10.lock.json", "fraud_detection.ipynb"],
                          cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True).stdout
    assert "RandomForestClassifier (@fit_" in text and "max_depth: 10 → 12" in text
    same = subprocess.run([sys.executable, "-m", "notelock", "diff", "depth10.lock.json", "depth10.lock.json"],
                          cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True)
    assert same.returncode == 0 and len(same.stdout.splitlines()) == 1
    assert same.stdout.startswith("identical computations")
