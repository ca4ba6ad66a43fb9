"""Helpers of the portability tests: the small notebook, its data, writing notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd

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
