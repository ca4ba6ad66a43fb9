"""``notelock bisect --run``: a lock built at a commit that has none.

The commit is checked out into a temporary git worktree (the user's own
checkout is never touched), the notebook is built there headless (a fresh
kernel: :func:`notelock.headless.build.build_lock`), and the lock it
records is returned; the worktree is removed afterwards. Data files the
notebook reads come from the commit, like the code.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.errors import NotelockError
from .build import build_lock


def builder(root: Path, notebook_rel: str, *, timeout: int | None = None,
            kernel_name: str | None = None, log: Callable[[str], None] | None = None,
            built: list[str] | None = None) -> Callable[[str], dict[str, Any]]:
    """A function ``commit -> lock`` building *notebook_rel* at each commit asked for."""
    def build(commit: str) -> dict[str, Any]:
        work = Path(tempfile.mkdtemp(prefix="notelock-bisect-"))
        tree = work / "tree"
        done = subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(tree), commit],
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            shutil.rmtree(work, ignore_errors=True)
            raise NotelockError(f"git worktree add {commit[:10]}: {' '.join(done.stderr.split())[:200]}")
        try:
            nb = tree / notebook_rel
            if not nb.is_file():
                raise NotelockError(f"{commit[:10]}: {notebook_rel} does not exist at this commit")
            if log is not None:
                log(f"{commit[:10]}: no lock committed; running {notebook_rel} in a fresh kernel")
            result = build_lock(nb, target=work / "built.lock.json", timeout=timeout, kernel_name=kernel_name)
            if built is not None:
                built.append(commit[:10])
            return result.lock
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)],
                           capture_output=True, timeout=300)
            shutil.rmtree(work, ignore_errors=True)
    return build


__all__ = ["builder"]
