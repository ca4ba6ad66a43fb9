"""Fixtures for the nbconvert exporter: subprocess environments that find notelock."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
_JUPYTER = Path(sys.executable).with_name("jupyter")
#: ``jupyter nbconvert`` of the interpreter running the tests
JUPYTER_NBCONVERT = [str(_JUPYTER), "nbconvert"] if _JUPYTER.exists() else [sys.executable, "-m", "nbconvert"]


def _entry_points_dir(base: Path) -> Path:
    """A dist-info declaring pyproject's entry points, for a source tree that
    is not pip-installed (an installed notelock declares them itself)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = ["[console_scripts]", *(f"{k} = {v}" for k, v in project.get("scripts", {}).items()), ""]
    for group, entries in project.get("entry-points", {}).items():
        lines += [f"[{group}]", *(f"{k} = {v}" for k, v in entries.items()), ""]
    info = base / "notelock_source_tree-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: notelock-source-tree\nVersion: 0\n")
    (info / "entry_points.txt").write_text("\n".join(lines))
    return base


@pytest.fixture(scope="session")
def nbconvert_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``os.environ`` for ``jupyter nbconvert`` subprocesses (and their kernels)
    with this source tree importable and the ``lockfile`` exporter registered."""
    paths = [str(ROOT / "src")]
    try:
        importlib.metadata.distribution("notelock")
    except importlib.metadata.PackageNotFoundError:
        paths.append(str(_entry_points_dir(tmp_path_factory.mktemp("entry_points"))))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*paths, *filter(None, [env.get("PYTHONPATH")])])
    env.pop("JPY_SESSION_NAME", None)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


@pytest.fixture
def nbconvert(nbconvert_env: dict[str, str]):
    """Run ``jupyter nbconvert ARGS`` with this interpreter; returns the CompletedProcess."""

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):
        return subprocess.run([*JUPYTER_NBCONVERT, *args], cwd=cwd, capture_output=True,
                              text=True, env={**nbconvert_env, **(env or {})}, timeout=timeout)

    return run
