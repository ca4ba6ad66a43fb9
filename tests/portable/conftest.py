"""A small real lock (a kernel ran it) with a pinned CSV read, a fit and a
cached cell, built once per module and copied into each test's folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from kernel_utils import run_notebook

NB = "small.ipynb"
LOCK = "small.lock.json"
CELLS = [
    "%load_ext notelock",
    "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression",
    "%%lock --snapshot\ndf = pd.read_csv('data.csv')",
    "%%lock --cache\nmodel = LogisticRegression(C=0.5).fit(df[['x']], df['y'])\npred = model.predict(df[['x']])",
]


def write_notebook(path: Path, sources: list[str]) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def write_data(path: Path, seed: int = 0, rows: int = 200) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows).round(4)
    pd.DataFrame({"x": x, "y": (x + rng.normal(scale=0.5, size=rows) > 0).astype(int)}).to_csv(path, index=False)


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
