"""A small real lock (a kernel ran it) with a pinned CSV read, a fit and a
cached cell, built once per module and copied into each test's folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from portable_helpers import CELLS, LOCK, NB, write_data, write_notebook

from kernel_utils import run_notebook


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A folder where the small notebook ran: notebook, data, lock, store."""
    folder = tmp_path_factory.mktemp("small")
    write_data(folder / "data.csv")
    run_notebook(write_notebook(folder / NB, CELLS), save=False)
    assert (folder / LOCK).is_file()
    return folder


@pytest.fixture
def project(built: Path, tmp_path: Path) -> Path:
    """A private copy of the built folder (store included) for one test to damage."""
    target = tmp_path / "project"
    shutil.copytree(built, target, symlinks=True)
    for path in (target / ".notelock" / "objects").rglob("*"):
        if path.is_file():
            path.chmod(0o644)
    return target
