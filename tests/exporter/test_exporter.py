"""``jupyter nbconvert --to lockfile``: real nbconvert subprocesses and real kernels."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from kernel_utils import run_notebook
from notelock.cli import main
from notelock.core.lockfile import FORMAT_VERSION, load_lock, lock_identity, write_lock
from notelock.core.workflow import notebook_checksum
from notelock.headless.exporter import LockfileExporter

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "notebooks" / "fraud_detection.ipynb"
FRAUD_ENV = {"FRAUD_ROWS": "3000"}

#: a notebook that does not use notelock: a read, a derived frame, a fit
PLAIN_CELLS = [
    "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression",
    "df = pd.read_csv('points.csv')\ndf.shape",
    "X = df[['a', 'b']] * 2\ny = df['label']",
    "model = LogisticRegression().fit(X, y)\nmodel.coef_.round(3)",
]


def write_notebook(path: Path, sources: list[str]) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def write_points(folder: Path) -> None:
    rows = ["a,b,label"] + [f"{i % 7},{(i * 3) % 5},{int(i % 7 > 3)}" for i in range(40)]
    (folder / "points.csv").write_text("\n".join(rows) + "\n")


def fresh_lock(notebook: Path) -> bytes:
    """A valid lock for *notebook*'s current content, written beside it without a kernel."""
    data = {"notelock": FORMAT_VERSION, "identity": lock_identity([]), "cells": [], "nodes": {},
            "workflow": {"notebook": notebook.name, "checksum": notebook_checksum(notebook)}}
    path = write_lock(notebook.with_name(notebook.stem + ".lock.json"), data)
    Path(str(path) + ".lck").unlink(missing_ok=True)
    return path.read_bytes()


# ---------------------------------------------------------------- registration


def test_lockfile_is_an_nbconvert_export_format(nbconvert_env):
    names = subprocess.run([sys.executable, "-c", "import nbconvert; print(nbconvert.get_export_names())"],
                           capture_output=True, text=True, env=nbconvert_env, check=True).stdout
    assert "'lockfile'" in names


def test_help_all_lists_lockfile(nbconvert, tmp_path):
    out = nbconvert("--help-all", cwd=tmp_path)
    assert out.returncode == 0
    assert "lockfile" in out.stdout


def test_execution_options_follow_execute_preprocessor_config():
    from traitlets.config import Config

    cfg = Config({"ExecutePreprocessor": {"timeout": 7, "kernel_name": "other", "startup_timeout": 9}})
    assert LockfileExporter(config=cfg)._execution_options() == (7, "other", 9)
    own = Config({**cfg, "LockfileExporter": {"timeout": 3, "kernel_name": "mine"}})
    assert LockfileExporter(config=own)._execution_options() == (3, "mine", 9)
    forever = Config({"ExecutePreprocessor": {"timeout": -1}})
    assert LockfileExporter(config=forever)._execution_options()[0] is None
    assert LockfileExporter().file_extension == ".lock.json"


def test_unknown_kernel_name_is_a_one_line_failure(nbconvert, tmp_path):
    write_notebook(tmp_path / "nb.ipynb", ["x = 1"])
    out = nbconvert("--to", "lockfile", "nb.ipynb", "--ExecutePreprocessor.kernel_name=no-such-kernel", cwd=tmp_path)
    assert out.returncode != 0
    assert "no kernel named 'no-such-kernel'" in out.stderr
    assert not (tmp_path / "nb.lock.json").exists()


# ---------------------------------------------------------------- no-execute mode


def test_no_execute_re_emits_a_fresh_lock_byte_identical(nbconvert, tmp_path):
    nb = write_notebook(tmp_path / "nb.ipynb", ["x = 1"])
    original = fresh_lock(nb)
    out = nbconvert("--to", "lockfile", "nb.ipynb", "--LockfileExporter.execute=False", "--stdout", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.encode() == original
    # --output with the full suffix must not double it
    out = nbconvert("--to", "lockfile", "nb.ipynb", "--LockfileExporter.execute=False",
                    "--output-dir", "out", "--output", "renamed.lock.json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["renamed.lock.json"]
    assert (tmp_path / "out" / "renamed.lock.json").read_bytes() == original


def test_no_execute_refuses_a_stale_lock_and_says_how_to_refresh(nbconvert, tmp_path):
    nb = write_notebook(tmp_path / "nb.ipynb", ["x = 1"])
    original = fresh_lock(nb)
    write_notebook(nb, ["x = 2"])
    out = nbconvert("--to", "lockfile", "nb.ipynb", "--LockfileExporter.execute=False",
                    "--output-dir", "out", cwd=tmp_path)
    assert out.returncode != 0
    assert "nb.lock.json was recorded from another version of the notebook" in out.stderr
    assert "notelock lock nb.ipynb" in out.stderr
    assert not (tmp_path / "out" / "nb.lock.json").exists()
    assert (tmp_path / "nb.lock.json").read_bytes() == original


# ---------------------------------------------------------------- builds in real kernels


@pytest.mark.kernel
def test_failing_third_cell_fails_the_export_and_keeps_the_previous_lock(nbconvert, tmp_path):
    nb = write_notebook(tmp_path / "broken.ipynb",
                        ["x = 1", "y = x + 1", "raise ValueError('third cell fails')", "z = 3"])
    previous = b'{"a previous good lock": true}\n'
    (tmp_path / "broken.lock.json").write_bytes(previous)
    before = sorted(p.name for p in tmp_path.iterdir())
    out = nbconvert("--to", "lockfile", nb.name, cwd=tmp_path)
    assert out.returncode != 0
    assert "broken.ipynb: cell 3 (In [3]) raised ValueError: third cell fails" in out.stderr
    assert "raise ValueError('third cell fails')" in out.stderr  # nbconvert's own report of the cell
    assert (tmp_path / "broken.lock.json").read_bytes() == previous
    # no temporary files left (the content store, .notelock/, may hold objects)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".notelock") == before
    history = tmp_path / ".notelock" / "history"
    assert not history.exists() or not any(history.iterdir())


@pytest.mark.kernel
@pytest.mark.slow
def test_plain_notebook_identity_same_from_nbconvert_cli_and_interactive_run(nbconvert, tmp_path, capsys):
    write_points(tmp_path)
    plain = write_notebook(tmp_path / "plain.ipynb", PLAIN_CELLS)

    out = nbconvert("--to", "lockfile", "plain.ipynb", "--output-dir", "nbconvert", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    exported = load_lock(tmp_path / "nbconvert" / "plain.lock.json")
    assert main(["lock", str(plain), "--output-dir", str(tmp_path / "cli")]) == 0
    built = load_lock(tmp_path / "cli" / "plain.lock.json")
    # interactively, "as if it were %%lock" is spelled out
    interactive = write_notebook(tmp_path / "interactive.ipynb",
                                 ["%load_ext notelock", *("%%lock\n" + s for s in PLAIN_CELLS)])
    run_notebook(interactive)
    by_hand = load_lock(tmp_path / "interactive.lock.json")

    assert exported["identity"] == built["identity"] == by_hand["identity"]
    assert list(exported["nodes"]) == list(by_hand["nodes"])
    assert {n["op"] for n in exported["nodes"].values()} >= {"cell", "read", "fit"}
    assert [c["source"] for c in exported["cells"]] == PLAIN_CELLS  # as written, no cell added
    assert all(c["locked"] for c in exported["cells"])
    assert exported["workflow"]["checksum"] == notebook_checksum(plain)
    assert not (tmp_path / "plain.lock.json").exists()  # --output-dir: nothing beside the notebook


@pytest.mark.kernel
@pytest.mark.slow
def test_fraud_notebook_identity_same_from_nbconvert_cli_and_interactive_run(nbconvert, tmp_path, monkeypatch):
    monkeypatch.setenv("FRAUD_ROWS", FRAUD_ENV["FRAUD_ROWS"])
    notebook = tmp_path / EXAMPLE.name
    shutil.copy(EXAMPLE, notebook)
    # the interactive run first: it generates the data the two builds then read
    run_notebook(notebook, env=FRAUD_ENV)
    by_hand = load_lock(tmp_path / "fraud_detection.lock.json")

    out = nbconvert("--to", "lockfile", EXAMPLE.name, "--output-dir", "OUT", cwd=tmp_path, env=FRAUD_ENV)
    assert out.returncode == 0, out.stderr
    exported = load_lock(tmp_path / "OUT" / "fraud_detection.lock.json")
    assert main(["lock", str(notebook)]) == 0  # beside the notebook, over the interactive lock
    built_bytes = (tmp_path / "fraud_detection.lock.json").read_bytes()
    built = load_lock(tmp_path / "fraud_detection.lock.json")

    assert exported["identity"] == built["identity"] == by_hand["identity"]
    assert list(exported["nodes"]) == list(by_hand["nodes"])
    assert [c["source"] for c in exported["cells"]] == [c["source"] for c in by_hand["cells"]]
    # (the interactive run saved the notebook afterwards, which may change its metadata)
    assert exported["workflow"]["checksum"] == built["workflow"]["checksum"] == notebook_checksum(notebook)

    # the lock is fresh: the no-execute mode re-emits it unchanged
    out = nbconvert("--to", "lockfile", EXAMPLE.name, "--LockfileExporter.execute=False", "--stdout", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.encode() == built_bytes
    assert json.loads(out.stdout)["identity"] == by_hand["identity"]
