"""Bisect: the first run in which a node's result changed, and why.

Nothing is re-executed where a lock exists: each lock already holds the
identities and results. The candidates are the versions of one lock in
order, oldest first: its kept history in the store (``NB.ipynb~N`` … the
current lock), or the lock file as committed at each commit of a git range
(``GOOD..BAD``: GOOD and every commit after it up to BAD, first-parent).
A version without a lock (a commit where it was not committed) is only
usable through a *loader* that builds it (``--run``; see
:mod:`notelock.headless.gitrun`).

What is tracked, in each version: with a variable name, the content hash the
last current cell writing it recorded; with a node id (of the newest
version), the result (``output``) of the node paired with it by the diff's
alignment (same cell source, same position among that cell's nodes of the
same op). The search is a binary search against the oldest version's value
(as ``git bisect``), so only O(log n) versions are loaded or built; then the
diff of the last unchanged version and the first changed one gives the root
causes.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import history as _history
from .diff import diff_locks, match_nodes
from .errors import LockFileError, NotFoundError, UsageError
from .lockfile import loads_lock
from .render import node_label

Loader = Callable[[], "dict[str, Any] | None"]


@dataclass
class Candidate:
    """One version: a label (``fraud.ipynb~3``, a commit) and how to get its lock."""

    label: str
    load: Loader
    detail: str = ""
    _lock: Any = field(default=None, repr=False)
    _loaded: bool = field(default=False, repr=False)

    def lock(self) -> dict[str, Any] | None:
        if not self._loaded:
            self._lock, self._loaded = self.load(), True
        return self._lock


@dataclass
class BisectResult:
    """The first changed version (None: the value never changed) and the diff's root causes there."""

    target: str
    versions: int
    probed: list[str]
    first: Candidate | None = None
    last_good: Candidate | None = None
    before: str | None = None
    after: str | None = None
    root_causes: list[dict[str, Any]] = field(default_factory=list)
    built: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0 if self.first is not None else 1

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "versions": self.versions, "probed": self.probed, "built": self.built,
                "first_changed": self.first.label if self.first else None,
                "first_changed_detail": self.first.detail if self.first else None,
                "last_unchanged": self.last_good.label if self.last_good else None,
                "value": {"before": self.before, "after": self.after}, "root_causes": self.root_causes,
                "exit_code": self.exit_code}


# ---------------------------------------------------------------- candidates


def history_candidates(lock_path: str | os.PathLike[str]) -> list[Candidate]:
    """The kept versions of a lock, oldest first, then the current lock."""
    path = Path(lock_path)
    versions = _history.history_versions(path)
    def loader(number: int) -> Loader:
        return lambda: _history.load_version(path, number)

    out = [Candidate(f"{path.name}~{v.number}", loader(v.number),
                     detail=f"replaced {v.replaced}" + (f", commit {v.commit[:10]}" if v.commit else ""))
           for v in reversed(versions)]
    out.append(Candidate(path.name, loader(0), detail="current"))
    return out


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise UsageError("--git needs git on PATH") from None
    if done.returncode != 0:
        raise UsageError(f"git {args[0]}: {' '.join(done.stderr.split())[:200]}")
    return done.stdout


def git_root(path: Path) -> Path:
    """The work tree holding *path*."""
    return Path(_git(path.parent if path.suffix else path, "rev-parse", "--show-toplevel").strip())


def git_commits(root: Path, spec: str) -> list[tuple[str, str]]:
    """``(commit, subject)`` of GOOD and every commit up to BAD, oldest first."""
    if ".." not in spec:
        raise UsageError(f"--git takes GOOD..BAD, got {spec!r}")
    good, bad = spec.split("..", 1)
    good_sha = _git(root, "rev-parse", "--verify", f"{good}^{{commit}}").strip()
    bad_sha = _git(root, "rev-parse", "--verify", f"{(bad or 'HEAD')}^{{commit}}").strip()
    lines = _git(root, "log", "--first-parent", "--reverse", "--format=%H %s", f"{good_sha}..{bad_sha}").splitlines()
    subject = _git(root, "log", "-1", "--format=%s", good_sha).strip()
    out = [(good_sha, subject)] + [(ln.split(" ", 1)[0], ln.split(" ", 1)[1] if " " in ln else "") for ln in lines]
    if len(out) < 2:
        raise UsageError(f"{spec}: no commits between them")
    return out


def committed_lock(root: Path, commit: str, rel: str) -> dict[str, Any] | None:
    """The lock at *rel* as committed in *commit*, or None when it was not committed there."""
    done = subprocess.run(["git", "-C", str(root), "show", f"{commit}:{rel}"], capture_output=True, timeout=120)
    if done.returncode != 0:
        return None
    return loads_lock(done.stdout, f"{rel}@{commit[:10]}")


def git_candidates(lock_path: Path, spec: str, build: Callable[[str], dict[str, Any]] | None = None) -> list[Candidate]:
    """The lock as committed at each commit of *spec*; where it was not committed,
    *build* (``--run``) makes it, else the version is unusable."""
    root = git_root(lock_path.absolute())
    rel = lock_path.absolute().relative_to(root).as_posix()
    out = []
    for sha, subject in git_commits(root, spec):
        def load(sha: str = sha) -> dict[str, Any] | None:
            found = committed_lock(root, sha, rel)
            if found is None and build is not None:
                return build(sha)
            return found
        out.append(Candidate(sha[:10], load, detail=subject))
    return out


# ---------------------------------------------------------------- tracking


def _current_cells(lock: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in lock.get("cells", []) if "superseded_by" not in c]


def variable_value(lock: dict[str, Any], name: str) -> str | None:
    """The content hash of *name* as the last current locked cell writing it recorded."""
    for cell in reversed(_current_cells(lock)):
        node = lock["nodes"].get(cell.get("node") or "", {})
        if name in (node.get("writes") or {}):
            return str(node["writes"][name])
    return None


def node_value(lock: dict[str, Any], reference: dict[str, Any], nid: str) -> str | None:
    """The result of the node of *lock* that the diff pairs with *nid* of *reference*."""
    if lock is reference:
        return reference["nodes"][nid].get("output")
    pairs, _a, _b = match_nodes(lock, reference)
    for a_id, b_id in pairs:
        if b_id == nid:
            return lock["nodes"][a_id].get("output")
    return None


def bisect(candidates: list[Candidate], *, node: str | None = None, variable: str | None = None) -> BisectResult:
    """Find the first candidate whose tracked value differs from the first one's."""
    if (node is None) == (variable is None):
        raise UsageError("give the node to follow (--node @id) or a variable name (--var NAME)")
    if len(candidates) < 2:
        raise UsageError("bisect needs at least two versions (see notelock log, or give --git GOOD..BAD)")
    newest = _need(candidates[-1])
    if node is not None and node not in newest.get("nodes", {}):
        raise NotFoundError(f"{candidates[-1].label}: no node {node} (node ids are those of the newest version)")
    if variable is not None and variable_value(newest, variable) is None:
        raise NotFoundError(f"{candidates[-1].label}: no locked cell wrote {variable!r}")
    target = variable if variable is not None else f"{node} {node_label(newest['nodes'][node])}"

    def value(c: Candidate) -> str | None:
        lock = _need(c)
        return variable_value(lock, variable) if variable is not None else node_value(lock, newest, str(node))

    probed: list[str] = []

    def probe(i: int) -> str | None:
        probed.append(candidates[i].label)
        return value(candidates[i])

    result = BisectResult(target=target, versions=len(candidates), probed=probed)
    good_value = probe(0)
    if probe(len(candidates) - 1) == good_value:
        result.before = result.after = good_value
        return result
    lo, hi = 0, len(candidates) - 1  # value(lo) == good, value(hi) != good
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if probe(mid) == good_value:
            lo = mid
        else:
            hi = mid
    result.first, result.last_good = candidates[hi], candidates[lo]
    result.before, result.after = good_value, value(candidates[hi])
    diff = diff_locks(_need(candidates[lo]), _need(candidates[hi]))
    b_nodes = _need(candidates[hi])["nodes"]
    for entry in diff["nodes"]:
        if entry["status"] == "root cause":
            result.root_causes.append({"id": entry["b"], "label": entry["label"], "reasons": entry["reasons"]})
    for nid in diff["added"]:
        if nid in diff["root_causes"] and not any(r["id"] == nid for r in result.root_causes):
            result.root_causes.append({"id": nid, "label": node_label(b_nodes[nid]), "reasons": ["new node"]})
    return result


def _need(c: Candidate) -> dict[str, Any]:
    lock = c.lock()
    if lock is None:
        raise LockFileError(f"{c.label}: no lock in this version (commit the lock, or bisect with --run to "
                            "build it)")
    return lock


__all__ = ["bisect", "Candidate", "BisectResult", "history_candidates", "git_candidates", "variable_value",
           "node_value", "git_root"]
