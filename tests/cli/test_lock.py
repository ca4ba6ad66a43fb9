"""``notelock lock``: headless builds of many notebooks, real kernels."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from notelock.cli import main
from notelock.core.lockfile import FORMAT_VERSION, load_lock, lock_identity, write_lock
from notelock.core.workflow import notebook_checksum


def write_notebook(path: Path, sources: list[str]) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def fresh_lock(notebook: Path) -> bytes:
    """A valid lock for *notebook*'s current content, written beside it without a kernel."""
    data = {"notelock": FORMAT_VERSION, "identity": lock_identity([]), "cells": [], "nodes": {},
            "workflow": {"notebook": notebook.name, "checksum": notebook_checksum(notebook)}}
    return write_lock(notebook.with_name(notebook.stem + ".lock.json"), data).read_bytes()


@pytest.mark.kernel
@pytest.mark.slow
def test_four_notebooks_two_jobs_then_one_broken(tmp_path, capsys):
    notebooks = [write_notebook(tmp_path / f"nb{i}.ipynb", [f"x = {i}", "y = x * 2", "print(y)"])
                 for i in range(4)]
    args = ["lock", *map(str, notebooks), "--jobs", "2"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "4 of 4 built"
    locks = {nb: nb.with_name(nb.stem + ".lock.json") for nb in notebooks}
    first = {nb: load_lock(path) for nb, path in locks.items()}
    assert len({lock["identity"] for lock in first.values()}) == 4  # x differs, so do the identities
    kept = locks[notebooks[2]].read_bytes()

    write_notebook(notebooks[2], ["x = 2", "y = x * 2", "raise RuntimeError('broken on purpose')"])
    assert main([*args, "--force"]) == 1  # --force: the unchanged ones run again too
    out = capsys.readouterr().out
    rows = {Path(line.split()[0]).name: line for line in out.splitlines()[1:-1]}
    assert "failed" in rows["nb2.ipynb"] and "cell 3 (In [3]) raised RuntimeError: broken on purpose" in rows["nb2.ipynb"]
    assert all(" ok " in rows[f"nb{i}.ipynb"] for i in (0, 1, 3))
    assert out.splitlines()[-1] == "3 of 4 built, 1 failed"
    assert locks[notebooks[2]].read_bytes() == kept  # the failed build left the old lock alone
    for i in (0, 1, 3):
        assert load_lock(locks[notebooks[i]])["identity"] == first[notebooks[i]]["identity"]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".") and p.name != ".notelock"]
    assert leftovers == []
    # the store keeps the versions the second run replaced, under the locks' own names
    history = tmp_path / ".notelock" / "history"
    assert sorted(p.name for p in history.iterdir()) == [f"nb{i}.lock.json.jsonl" for i in (0, 1, 3)]


def test_missing_notebook_is_bad_usage(tmp_path, capsys):
    write_notebook(tmp_path / "ok.ipynb", ["x = 1"])
    assert main(["lock", str(tmp_path / "ok.ipynb"), str(tmp_path / "missing.ipynb")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.ipynb: no such notebook" in err
    assert not (tmp_path / "ok.lock.json").exists()  # nothing ran


@pytest.mark.parametrize("extra", [["--jobs", "0"], ["--timeout", "0"]])
def test_bad_option_values_are_bad_usage(tmp_path, capsys, extra):
    nb = write_notebook(tmp_path / "nb.ipynb", ["x = 1"])
    with pytest.raises(SystemExit) as exit_:
        main(["lock", str(nb), *extra])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("notelock: error: argument") and err.count("\n") == 1


def test_not_a_notebook_is_bad_usage(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hi")
    assert main(["lock", str(tmp_path / "notes.txt")]) == 2
    assert "not a notebook" in capsys.readouterr().err


def test_help_documents_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["lock", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--jobs", "--output-dir", "--timeout", "--kernel", "--no-execute", "Exit status"):
        assert option in out


def test_no_execute_copies_a_fresh_lock_byte_identical(tmp_path, capsys):
    nb = write_notebook(tmp_path / "nb.ipynb", ["x = 1"])
    original = fresh_lock(nb)
    assert main(["lock", str(nb), "--no-execute", "--output-dir", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "nb.lock.json").read_bytes() == original
    assert " fresh " in capsys.readouterr().out


def test_no_execute_stale_lock_fails_and_says_how_to_refresh(tmp_path, capsys):
    nb = write_notebook(tmp_path / "nb.ipynb", ["x = 1"])
    original = fresh_lock(nb)
    write_notebook(nb, ["x = 2"])
    assert main(["lock", str(nb), "--no-execute"]) == 1
    captured = capsys.readouterr()
    assert "refresh it with: notelock lock nb.ipynb" in captured.err
    assert "failed" in captured.out
    assert (tmp_path / "nb.lock.json").read_bytes() == original


def test_no_execute_without_a_lock_is_unusable_input(tmp_path, capsys):
    nb = write_notebook(tmp_path / "nb.ipynb", ["x = 1"])
    assert main(["lock", str(nb), "--no-execute"]) == 2
    assert "no lock beside nb.ipynb" in capsys.readouterr().err


def test_two_notebooks_with_one_output_name_are_bad_usage(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = write_notebook(tmp_path / "a" / "nb.ipynb", ["x = 1"])
    two = write_notebook(tmp_path / "b" / "nb.ipynb", ["x = 1"])
    assert main(["lock", str(one), str(two), "--output-dir", str(tmp_path / "out")]) == 2
    assert "would both write" in capsys.readouterr().err
