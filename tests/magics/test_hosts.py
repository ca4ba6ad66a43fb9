"""Wherever notebooks run: the notebook path is found as each host tells the
kernel, papermill's parameters are the lock's parameters, and the line magic
reads the way IPython's own magics do (a trailing comment is not an argument)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.kernel


def test_trailing_comments_on_line_magics(kernel, tmp_path: Path):
    kernel.ok("%%lock\nx = 1")
    out = kernel.ok("%lock   # a summary")
    assert "@cell_" in json.dumps(out["data"])
    out = kernel.ok("%lock export  # write it now")
    assert "wrote" in out["stdout"]
    assert not (tmp_path / "#").exists() and not list(tmp_path.glob("#*"))
    assert kernel.ok("%%lock --snapshot  # pin the inputs\ny = 2")["status"] == "ok"
    lock = json.loads((tmp_path / "scratch.lock.json").read_text())
    assert lock["cells"][-1]["options"] == {"snapshot": True}


@pytest.mark.parametrize("code", ["%%lock --bogus\nz = 1", "%%lock --rtol abc\nz = 1", "%%lock --rtol -1\nz = 1",
                                  "%%lock --deterministic --nondeterministic\nz = 1"])
def test_bad_lock_options_refuse_the_cell_every_time(kernel, code):
    for _ in range(2):
        out = kernel.run(code)
        assert out["status"] == "error" and "UsageError" in out["stderr"]
        assert len(out["stderr"].strip().splitlines()) == 1
    assert kernel.value("'z' in globals()") is False


def test_vs_code_names_the_notebook_in_the_namespace(kernel_factory, tmp_path: Path):
    k = kernel_factory(notebook=None)
    folder = tmp_path / "proj"
    folder.mkdir()
    k.ok(f"__vsc_ipynb_file__ = {str(folder / 'analysis.ipynb')!r}")
    k.ok("%load_ext notelock")
    k.ok("%%lock\nx = 1")
    assert (folder / "analysis.lock.json").exists()


def test_papermill_parameters_are_the_locks_parameters(tmp_path: Path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext notelock"),
        nbformat.v4.new_code_cell("alpha = 0.5\nname = 'a'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("%%lock\nscore = alpha * 2"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "run.ipynb"
    nbformat.write(nb, src)
    locks = {}
    for alpha in ("0.5", "0.7"):
        out = tmp_path / f"out-{alpha}.ipynb"
        # papermill's kernel is told its notebook the documented way
        env = dict(os.environ, NOTELOCK_NOTEBOOK=str(tmp_path / f"run-{alpha}.ipynb"))
        env.pop("JPY_SESSION_NAME", None)
        subprocess.run([sys.executable, "-m", "papermill", str(src), str(out), "-p", "alpha", alpha, "-k", "python3",
                        "--cwd", str(tmp_path)], check=True, capture_output=True, env=env, timeout=300)
        locks[alpha] = tmp_path / f"run-{alpha}.lock.json"
        assert json.loads(locks[alpha].read_text())["parameters"] == {"alpha": float(alpha)}
    diff = subprocess.run([sys.executable, "-m", "notelock", "diff", str(locks["0.5"]), str(locks["0.7"])],
                          capture_output=True, text=True, timeout=120)
    assert "notebook parameters (ROOT CAUSE)" in diff.stdout and "alpha: 0.5 → 0.7" in diff.stdout
