"""Determinism contracts, hidden state and schema contracts, in real kernels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from kernel_utils import run_notebook
from notelock.core.lockfile import load_lock

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def notelock(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "notelock", *args], cwd=cwd, env=dict(os.environ),
                          capture_output=True, text=True, timeout=600)


def notebook(folder: Path, *cells: str, name: str = "rng.ipynb") -> Path:
    path = folder / name
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path)
    return path


RNG_CELLS = ("%load_ext notelock", "import numpy as np",
             "%%lock\nbase = np.arange(1, 7, dtype=float)",
             "%%lock {flag}\nnoise = np.random.default_rng().random(4)",
             "%%lock --rtol 1e-6\nclose = base + np.random.default_rng().random(6) * 1e-12")


def test_declared_nondeterministic_cell_is_not_verified(tmp_path: Path):
    run_notebook(notebook(tmp_path, *[c.format(flag="--nondeterministic") for c in RNG_CELLS]))
    proc = notelock("replay", "rng.lock.json", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verdicts = {v["label"]: v for v in json.loads(proc.stdout)["verdicts"]}
    assert verdicts["cell → base"]["verdict"] == "reproduced"
    assert verdicts["cell → noise"]["verdict"] == "not verified"
    assert verdicts["cell → noise"]["detail"] == "declared nondeterministic"
    assert verdicts["cell → close"]["verdict"] == "reproduced within tolerance"


def test_undeclared_random_cell_diverges(tmp_path: Path):
    run_notebook(notebook(tmp_path, *[c.format(flag="") for c in RNG_CELLS]))
    proc = notelock("replay", "rng.lock.json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if "cell → noise" in ln)
    assert line.split()[0] == "DIVERGED"
    assert "noise: values differ" in line and "the cell itself gave a different result" in line
    # verify: run to run, the undeclared cell is unstable, so its (exact) contract does not hold
    proc = notelock("verify", "rng.lock.json", "--runs", "2", "--json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rows = {r["label"]: r for r in json.loads(proc.stdout)["nodes"]}
    assert rows["cell → base"]["stable"] and rows["cell → base"]["holds"]
    assert not rows["cell → noise"]["stable"] and not rows["cell → noise"]["holds"]
    assert rows["cell → close"]["holds"]


def test_notebook_wide_contract_is_recorded_and_overridable(kernel_factory, tmp_path: Path):
    k = kernel_factory(notebook="nb.ipynb")
    k.ok("%load_ext notelock")
    k.ok("import numpy as np")
    out = k.ok("%lock contract nondeterministic")
    assert "nondeterministic" in out["stdout"]
    k.ok("%%lock\nnoise = np.random.default_rng().random(3)")
    k.ok("%%lock --deterministic\nfixed = np.arange(3)")
    lock = load_lock(tmp_path / "nb.lock.json")
    assert lock["contracts"] == {"default": "nondeterministic"}
    contracts = {n["writes"] and next(iter(n["writes"])): n.get("contract") for n in lock["nodes"].values()}
    assert contracts["noise"]["verify"] == "none" and contracts["fixed"] == {"verify": "exact"}
    proc = notelock("replay", "nb.lock.json", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verdicts = {v["label"]: v["verdict"] for v in json.loads(proc.stdout)["verdicts"]}
    assert verdicts == {"cell → noise": "not verified", "cell → fixed": "reproduced"}


def test_hidden_state_is_refused_before_running(kernel_factory, tmp_path: Path):
    k = kernel_factory(notebook="hidden.ipynb")
    k.ok("threshold = 41")
    k.ok("%load_ext notelock")
    k.ok("%%lock\nanswer = threshold + 1")
    k.ok("%lock export")
    status = k.run("%lock status")
    assert "threshold" in json.dumps(status["data"])
    marker = tmp_path / "ran.txt"
    proc = notelock("replay", "hidden.lock.json", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "'threshold'" in proc.stderr and "not replayable" in proc.stderr
    assert not marker.exists()


def test_schema_change_warns_in_session_and_strict_stops_the_cell(kernel_factory, tmp_path: Path):
    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n1,2\n3,4\n")
    k = kernel_factory(notebook="schema.ipynb")
    k.ok("%load_ext notelock\nimport pandas as pd")
    cell = "%%lock\ndf = pd.read_csv('t.csv')\nafter = 1"
    k.ok(cell)
    csv.write_text("a,b,c\n1,2,\n3,4,0.5\n5,6,\n7,8,\n")
    out = k.ok(cell)
    assert "t.csv: schema changed: + c (float64, 75% null); rows 2 → 4" in out["stderr"]
    csv.write_text("a,b,c\n1,x,\n3,4,0.5\n")
    out = k.run("%%lock --strict\ndf = pd.read_csv('t.csv')\nafter = 2")
    assert out["ename"] == "DriftError", out
    assert "~ b: int64 → str" in out["evalue"]
    assert k.value("after") == 1, "the cell stopped at the read"
    k.ok("%lock strict on")
    csv.write_text("a,b,c\n1,2,1.0\n3,4,0.5\n")
    out = k.run(cell.replace("after = 1", "after = 3"))
    assert out["ename"] == "DriftError" and "~ c: no longer has nulls" in out["evalue"] or "b: str → int64" in out["evalue"]


def test_lock_diff_magic_compares_another_lock_with_this_session(kernel_factory, tmp_path: Path):
    k = kernel_factory(notebook="m.ipynb")
    k.ok("%load_ext notelock\nimport numpy as np\nfrom sklearn.tree import DecisionTreeClassifier")
    k.ok("X = np.arange(40, dtype=float).reshape(20, 2); y = (X[:, 0] > 15).astype(int)")
    k.ok("%%lock\nmodel = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)")
    k.ok("%lock export before.lock.json")
    k.ok("%%lock\nmodel = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)")
    out = k.ok("%lock diff before.lock.json")
    # the session keeps both executions: the second fit is a new node, its cell new code
    assert "notelock diff before.lock.json → this session" in out["stdout"]
    assert "+model = DecisionTreeClassifier(max_depth=3" in out["stdout"]
    assert "added       @fit_" in out["stdout"], out
    missing = k.run("%lock diff nope.lock.json")
    assert missing["status"] == "error"  # IPython's UsageError: one line, no traceback
    assert "UsageError" in missing["stderr"] and "no such lock file" in missing["stderr"]
    assert missing["traceback"] == "" and len(missing["stderr"].strip().splitlines()) == 1
