"""Workflow section: nbstripout-compatible checksum, git state, saved flag, image."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from notelock.core.errors import NotelockError
from notelock.core.workflow import (
    WorkflowTracker,
    container_image,
    dirty_warning,
    notebook_checksum,
)

NBSTRIPOUT = Path(sys.executable).with_name("nbstripout")
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def _cell(source, **extra):
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
    cell.update(extra)
    return cell


def _notebook(cells, minor=4, **metadata):
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    meta.update(metadata)
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": minor}


NOTEBOOKS = {
    "plain": _notebook([_cell("import pandas as pd\ndf = pd.DataFrame({'a': [1]})"), _cell("df.sum()")]),
    "outputs_widgets": _notebook(
        [
            _cell(
                ["x = 1\n", "print(x)"],
                execution_count=7,
                metadata={"collapsed": False, "scrolled": True, "ExecuteTime": {"end_time": "2025-01-01"}},
                outputs=[
                    {"name": "stdout", "output_type": "stream", "text": ["1\n"]},
                    {
                        "data": {"text/plain": ["1"]},
                        "execution_count": 7,
                        "metadata": {},
                        "output_type": "execute_result",
                    },
                ],
            ),
            {"cell_type": "markdown", "metadata": {"hidden": True}, "source": "# Title"},
        ],
        widgets={"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2, "version_minor": 0}},
        signature="sha256:abc",
    ),
    "cell_ids": _notebook(
        [_cell("a = 1", id="4f1c-random-id", execution_count=2), _cell("b = a + 1", id="77aa", execution_count=3)],
        minor=5,
    ),
    "unicode": _notebook(
        [
            _cell("s = 'héllo wörld — 日本語 🌍'\nprint(s)", outputs=[{"name": "stdout", "output_type": "stream", "text": "ü"}]),
            {"cell_type": "markdown", "metadata": {}, "source": "Ünïcödé ✓"},
        ],
        title="Café ☕",
    ),
}


def _write(path: Path, nb: dict, indent=1) -> Path:
    path.write_text(json.dumps(nb, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _clean_env(home: Path) -> dict[str, str]:
    """An environment without the user's or system's git config."""
    env = dict(os.environ)
    env.update({"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "XDG_CONFIG_HOME": str(home / ".config")})
    env.pop("GIT_CONFIG_GLOBAL", None)
    return env


def _cli_checksum(path: Path, cwd: Path, env: dict[str, str]) -> str:
    """The literal shell pipeline ``nbstripout -t NB | git hash-object --stdin``."""
    out = subprocess.run(
        ["sh", "-c", '"$0" -t "$1" | git hash-object --stdin', str(NBSTRIPOUT), str(path)],
        cwd=cwd,
        env=env,
        capture_output=True,
        check=True,
    )
    return out.stdout.decode().strip()


def _cli_checksums(paths: list[Path], cwd: Path, env: dict[str, str]) -> list[str]:
    """``nbstripout -t`` run once over several notebooks (its start-up takes
    seconds), its output split back into one document per notebook, each piped
    into ``git hash-object --stdin``."""
    out = subprocess.run(
        [str(NBSTRIPOUT), "-t", *map(str, paths)], cwd=cwd, env=env, capture_output=True, check=True
    ).stdout.decode("utf-8")
    decoder = json.JSONDecoder()
    docs, pos = [], 0
    while pos < len(out):
        _, end = decoder.raw_decode(out, pos)
        assert out[end] == "\n"  # nbformat.write ends every document with a newline
        docs.append(out[pos : end + 1])
        pos = end + 1
    assert len(docs) == len(paths)
    return [
        subprocess.run(
            ["git", "hash-object", "--stdin"], input=doc.encode("utf-8"), cwd=cwd, env=env, capture_output=True, check=True
        )
        .stdout.decode()
        .strip()
        for doc in docs
    ]


@pytest.fixture
def git_env(tmp_path, monkeypatch):
    """HOME and git config isolated from the machine's; commits need no identity setup."""
    home = tmp_path / "home"
    home.mkdir()
    env = _clean_env(home)
    for key in ("HOME", "GIT_CONFIG_NOSYSTEM", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(key, "Test")
    for key in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(key, "test@example.org")
    monkeypatch.delenv("NOTELOCK_ALLOW_DIRTY", raising=False)
    return dict(os.environ)


def git(repo: Path, *args: str) -> str:
    """Run git in *repo* and return its stdout."""
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path, git_env):
    """A repository with one commit holding a notebook and a helper module."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    _write(root / "analysis.ipynb", NOTEBOOKS["plain"])
    (root / "helpers.py").write_text("def f():\n    return 1\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


# -- checksum ------------------------------------------------------------------


needs_cli = pytest.mark.skipif(
    shutil.which("git") is None or not NBSTRIPOUT.exists(), reason="git or the nbstripout console script missing"
)


@needs_cli
def test_checksum_matches_nbstripout_cli(tmp_path, git_env):
    paths = [_write(tmp_path / f"{name}.ipynb", nb) for name, nb in sorted(NOTEBOOKS.items())]
    # Other layouts of the same content: compact JSON and CRLF line endings.
    compact = tmp_path / "compact.ipynb"
    compact.write_text(json.dumps(NOTEBOOKS["outputs_widgets"]), encoding="utf-8")
    crlf = tmp_path / "crlf.ipynb"
    crlf.write_bytes(json.dumps(NOTEBOOKS["outputs_widgets"], indent=2).replace("\n", "\r\n").encode())
    paths += [compact, crlf]
    expected = _cli_checksums(paths, tmp_path, git_env)
    assert [notebook_checksum(p) for p in paths] == expected
    assert len(set(expected)) == len(NOTEBOOKS)  # the two extra layouts equal outputs_widgets


def test_checksum_ignores_outputs_counts_ids_but_not_code(tmp_path):
    base = NOTEBOOKS["cell_ids"]
    a = _write(tmp_path / "a.ipynb", base)
    ran = json.loads(json.dumps(base))
    ran["cells"][0].update(execution_count=40, id="other-id")
    ran["cells"][0]["outputs"] = [{"name": "stdout", "output_type": "stream", "text": "x"}]
    b = _write(tmp_path / "b.ipynb", ran)
    edited = json.loads(json.dumps(base))
    edited["cells"][1]["source"] = "b = a + 2"
    c = _write(tmp_path / "c.ipynb", edited)
    assert notebook_checksum(a) == notebook_checksum(b)
    assert notebook_checksum(a) != notebook_checksum(c)
    assert len(notebook_checksum(a)) == 40


@needs_cli
def test_checksum_honours_git_configured_extra_keys(repo, git_env):
    git(repo, "config", "filter.nbstripout.extrakeys", "metadata.kernelspec")
    nb = repo / "analysis.ipynb"
    tracker = WorkflowTracker(nb)
    snap = tracker.snapshot()
    assert snap["checksum"] == _cli_checksum(nb, repo, git_env)
    assert snap["checksum"] != notebook_checksum(nb)


def test_checksum_of_a_broken_file_raises_notelock_error(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(NotelockError):
        notebook_checksum(bad)
    with pytest.raises(NotelockError):
        notebook_checksum(tmp_path / "missing.ipynb")


# -- saved -----------------------------------------------------------------------


def test_saved_flag(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nb = _write(tmp_path / "n.ipynb", NOTEBOOKS["plain"])
    tracker = WorkflowTracker(nb)
    sources = ["import pandas as pd\ndf = pd.DataFrame({'a': [1]})", "df.sum()  \n"]
    assert tracker.snapshot(sources)["saved"] is True
    assert tracker.snapshot(sources + ["df.mean()"])["saved"] is False
    assert tracker.snapshot()["saved"] is True
    # Saving the edit makes it saved again.
    nb2 = json.loads(json.dumps(NOTEBOOKS["plain"]))
    nb2["cells"].append(_cell("df.mean()"))
    _write(nb, nb2, indent=2)
    assert tracker.snapshot(sources + ["df.mean()"])["saved"] is True

    nothing = WorkflowTracker(None).snapshot(["x = 1"])
    assert nothing["notebook"] is None and nothing["checksum"] is None and nothing["saved"] is None
    missing = WorkflowTracker(tmp_path / "never_saved.ipynb").snapshot(["x = 1"])
    assert missing["checksum"] is None and missing["saved"] is False


# -- git -------------------------------------------------------------------------


@needs_git
def test_git_clean_dirty_clean_cycle(repo):
    nb = repo / "analysis.ipynb"
    tracker = WorkflowTracker(nb)
    snap = tracker.snapshot()
    head = git(repo, "rev-parse", "HEAD")
    assert snap["notebook"] == "analysis.ipynb"
    assert snap["git"] == {
        "repository": True,
        "commit": head,
        "branch": "main",
        "remote": None,
        "dirty": False,
        "modified": [],
        "modified_count": 0,
    }
    assert dirty_warning(snap["git"]) is None

    edited = json.loads(json.dumps(NOTEBOOKS["plain"]))
    edited["cells"][1]["source"] = "df.mean()"
    _write(nb, edited)
    snap = tracker.snapshot()
    assert snap["git"]["dirty"] is True
    assert snap["git"]["modified"] == ["analysis.ipynb"]
    assert "analysis.ipynb" in dirty_warning(snap["git"])

    git(repo, "commit", "-q", "-am", "second")
    snap = tracker.snapshot()
    assert snap["git"]["dirty"] is False
    assert snap["git"]["commit"] == git(repo, "rev-parse", "HEAD") != head


@needs_git
def test_git_sees_changes_to_other_tracked_files_and_caches(repo):
    tracker = WorkflowTracker(repo / "analysis.ipynb")
    tracker.snapshot()
    runs = tracker.git_runs
    for _ in range(5):
        tracker.snapshot()
    assert tracker.git_runs == runs, "git must not run again when nothing changed"

    (repo / "helpers.py").write_text("def f():\n    return 2\n")
    snap = tracker.snapshot()
    assert tracker.git_runs == runs + 1
    assert snap["git"]["dirty"] is True and snap["git"]["modified"] == ["helpers.py"]

    (repo / "untracked.txt").write_text("not tracked")  # untracked files do not make a tree dirty
    git(repo, "checkout", "-q", "--", "helpers.py")
    assert tracker.snapshot()["git"]["dirty"] is False


@needs_git
def test_untracked_notebook_is_dirty(repo):
    nb = _write(repo / "new.ipynb", NOTEBOOKS["unicode"])
    snap = WorkflowTracker(nb).snapshot()
    assert snap["git"]["dirty"] is True
    assert snap["git"]["modified"] == ["new.ipynb"]


@needs_git
def test_many_modified_files_are_capped(repo):
    for i in range(7):
        (repo / f"m{i}.py").write_text("x = 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "more")
    for i in range(7):
        (repo / f"m{i}.py").write_text("x = 2\n")
    snap = WorkflowTracker(repo / "analysis.ipynb").snapshot()
    assert snap["git"]["modified_count"] == 7
    assert len(snap["git"]["modified"]) == 5
    warning = dirty_warning(snap["git"])
    assert "and 2 more" in warning and "\n" not in warning


@needs_git
def test_detached_head_and_subfolder_notebook(repo):
    sub = repo / "notebooks"
    sub.mkdir()
    nb = _write(sub / "deep.ipynb", NOTEBOOKS["plain"])
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "sub")
    git(repo, "checkout", "-q", "--detach")
    snap = WorkflowTracker(nb).snapshot()
    assert snap["git"]["branch"] is None
    assert snap["git"]["commit"] == git(repo, "rev-parse", "HEAD")
    assert snap["git"]["dirty"] is False
    (sub / "deep.ipynb").write_text((sub / "deep.ipynb").read_text() + " ")
    assert WorkflowTracker(nb).snapshot()["git"]["modified"] == ["notebooks/deep.ipynb"]


@needs_git
def test_remote_credentials_are_removed(repo):
    git(repo, "remote", "add", "origin", "https://user:ghp_secret123456@github.com/org/repo.git")
    snap = WorkflowTracker(repo / "analysis.ipynb").snapshot()
    assert snap["git"]["remote"] == "https://github.com/org/repo.git"
    assert "ghp_secret" not in json.dumps(snap)


@needs_git
def test_empty_repository_has_no_commit(tmp_path, git_env):
    root = tmp_path / "empty"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    nb = _write(root / "n.ipynb", NOTEBOOKS["plain"])
    snap = WorkflowTracker(nb).snapshot()
    assert snap["git"]["repository"] is True
    assert snap["git"]["commit"] is None and snap["git"]["branch"] == "main"
    assert snap["git"]["modified"] == ["n.ipynb"]


def test_no_repository(tmp_path, git_env):
    nb = _write(tmp_path / "n.ipynb", NOTEBOOKS["plain"])
    snap = WorkflowTracker(nb).snapshot()
    assert snap["git"] == {"repository": False}
    assert snap["checksum"] is not None


@needs_git
def test_no_git_binary(repo, tmp_path, monkeypatch):
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    snap = WorkflowTracker(repo / "analysis.ipynb").snapshot(["df.sum()"])
    assert snap["git"] == {"repository": False}
    assert snap["checksum"] == notebook_checksum(repo / "analysis.ipynb")
    assert snap["saved"] is True


def read_only_home(tmp_path: Path) -> Path:
    """A HOME nothing can be written under: a read-only folder, or for root
    (who ignores permissions) a path below a regular file."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        blocker = tmp_path / "not_a_folder"
        blocker.write_text("")
        return blocker / "home"
    home = tmp_path / "ro_home"
    home.mkdir()
    home.chmod(stat.S_IRUSR | stat.S_IXUSR)
    return home


@needs_git
def test_read_only_home(repo, tmp_path, monkeypatch):
    home = read_only_home(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    try:
        snap = WorkflowTracker(repo / "analysis.ipynb").snapshot()
    finally:
        if home.exists():
            home.chmod(stat.S_IRWXU)
    assert snap["git"]["repository"] is True and snap["git"]["dirty"] is False
    assert snap["git"]["commit"] == git(repo, "rev-parse", "HEAD")
    assert snap["checksum"] is not None


def test_allow_dirty(tmp_path, monkeypatch):
    monkeypatch.delenv("NOTELOCK_ALLOW_DIRTY", raising=False)
    assert WorkflowTracker(None).snapshot()["allow_dirty"] is False
    assert WorkflowTracker(None, allow_dirty=True).snapshot()["allow_dirty"] is True
    monkeypatch.setenv("NOTELOCK_ALLOW_DIRTY", "1")
    assert WorkflowTracker(None).snapshot()["allow_dirty"] is True


def test_dirty_warning_shapes():
    assert dirty_warning({"repository": False}) is None
    assert dirty_warning({"repository": True, "dirty": False}) is None
    msg = dirty_warning(
        {"repository": True, "dirty": True, "commit": "a" * 40, "modified": ["x.py", "y.ipynb"], "modified_count": 2}
    )
    assert "x.py, y.ipynb" in msg and "aaaaaaaaaaaa" in msg and "more" not in msg


# -- image -----------------------------------------------------------------------


def test_container_image_variables():
    digest = "sha256:" + "ab" * 32
    assert container_image({}) is None
    assert container_image({"NOTELOCK_IMAGE": "reg.io/team/img:1.2", "NOTELOCK_IMAGE_DIGEST": digest}) == {
        "name": "reg.io/team/img:1.2",
        "digest": digest,
    }
    assert container_image({"CI_JOB_IMAGE": f"python:3.12@{digest}"}) == {"name": "python:3.12", "digest": digest}
    assert container_image({"OCI_IMAGE": "img", "IMAGE_DIGEST": "not-a-digest"}) == {"name": "img", "digest": None}
    assert container_image({"JUPYTER_IMAGE_SPEC": "quay.io/jupyter/scipy-notebook:2025"})["name"].startswith("quay.io")
    # NOTELOCK_IMAGE wins over the others.
    assert container_image({"CI_JOB_IMAGE": "a", "NOTELOCK_IMAGE": "b"})["name"] == "b"


def test_snapshot_records_image(monkeypatch):
    monkeypatch.setenv("NOTELOCK_IMAGE", "ghcr.io/org/img@sha256:" + "0" * 64)
    assert WorkflowTracker(None).snapshot()["image"] == {"name": "ghcr.io/org/img", "digest": "sha256:" + "0" * 64}
