"""``notelock bisect``: five committed lock versions, the fourth backfills the data.

Over git (committed locks: nothing runs), over the store's history, and with
``--run`` over a history where the locks were never committed (each probed
commit is built in a temporary worktree, in a fresh kernel).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from portable_helpers import write_data, write_notebook

from notelock.cli import main
from notelock.core.lockfile import load_lock

pytestmark = [pytest.mark.kernel, pytest.mark.slow]
CELLS = ["import pandas as pd", "df = pd.read_csv('data.csv')", "total = float(df['x'].sum())"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def make_history(repo: Path, commit_locks: bool) -> list[str]:
    """Five commits; the fourth changes data.csv. Returns their shas."""
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    nb = repo / "nb.ipynb"
    steps = [
        ("v1", lambda: (write_data(repo / "data.csv"), write_notebook(nb, CELLS))),
        ("v2 readme", lambda: (repo / "README.md").write_text("the data\n")),
        ("v3 another cell", lambda: write_notebook(nb, [*CELLS, "z = 2"])),
        ("v4 backfill the data", lambda: write_data(repo / "data.csv", seed=1)),
        ("v5 another cell", lambda: write_notebook(nb, [*CELLS, "z = 2", "w = 3"])),
    ]
    shas = []
    for message, change in steps:
        change()
        if commit_locks:
            assert main(["lock", str(nb)]) == 0
            git(repo, "add", "nb.lock.json")
        git(repo, "add", "nb.ipynb", "data.csv", *(["README.md"] if (repo / "README.md").exists() else []))
        git(repo, "commit", "-q", "-m", message)
        shas.append(git(repo, "rev-parse", "HEAD").strip())
    return shas


@pytest.fixture(autouse=True)
def git_identity(monkeypatch):
    for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(key, "notelock tests")
    for key in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(key, "tests@notelock.invalid")
    monkeypatch.setenv("NOTELOCK_ALLOW_DIRTY", "1")


def bisect(capsys, *args: str) -> tuple[int, dict]:
    code = main(["bisect", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_bisect_over_committed_locks_names_commit_4_and_the_read(tmp_path, capsys):
    repo = tmp_path / "repo"
    shas = make_history(repo, commit_locks=True)
    capsys.readouterr()
    code, report = bisect(capsys, str(repo / "nb.ipynb"), "--git", f"{shas[0]}..{shas[-1]}", "--var", "total")
    assert code == 0, report
    assert report["first_changed"] == shas[3][:10] and report["first_changed_detail"] == "v4 backfill the data"
    assert report["last_unchanged"] == shas[2][:10] and report["built"] == []
    assert len(report["probed"]) < 5, "a binary search, not a scan"
    [cause] = [c for c in report["root_causes"] if c["id"].startswith("@read_")]
    assert "data.csv" in cause["label"] and "content changed" in cause["reasons"]
    # by node id (of the newest version) too: the read itself changed at commit 4
    newest = load_lock(repo / "nb.lock.json")
    read = next(nid for nid, n in newest["nodes"].items() if n["op"] == "read")
    code, report = bisect(capsys, str(repo / "nb.ipynb"), "--git", f"{shas[0]}..{shas[-1]}", "--node", read)
    assert code == 0 and report["first_changed"] == shas[3][:10]
    # the same search over the store's kept versions of the lock
    code, report = bisect(capsys, str(repo / "nb.ipynb"), "--var", "total")
    assert code == 0 and report["first_changed"] == "nb.lock.json~1", report
    # a range where it never changed
    code, report = bisect(capsys, str(repo / "nb.ipynb"), "--git", f"{shas[0]}..{shas[2]}", "--var", "total")
    assert code == 1 and report["first_changed"] is None
    # text form
    assert main(["bisect", str(repo / "nb.ipynb"), "--git", f"{shas[0]}..{shas[-1]}", "--var", "total"]) == 0
    out = capsys.readouterr().out
    assert f"first changed: {shas[3][:10]}  v4 backfill the data" in out and "ROOT CAUSE @read_" in out


def test_bisect_run_builds_commits_without_a_lock(tmp_path, capsys):
    repo = tmp_path / "repo"
    shas = make_history(repo, commit_locks=False)
    code, report = bisect(capsys, str(repo / "nb.ipynb"), "--git", f"{shas[0]}..{shas[-1]}", "--var", "total",
                          "--run")
    assert code == 0, report
    assert report["first_changed"] == shas[3][:10]
    assert sorted(report["built"]) == sorted(report["probed"]), "every probed commit was built"
    assert any("data.csv" in c["label"] and "content changed" in c["reasons"] for c in report["root_causes"])
    assert git(repo, "worktree", "list").count("\n") == 1, "the temporary worktrees are gone"
    code = main(["bisect", str(repo / "nb.ipynb"), "--git", f"{shas[0]}..{shas[-1]}", "--var", "total"])
    assert code == 2 and "no lock in this version" in capsys.readouterr().err
