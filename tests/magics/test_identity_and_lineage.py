"""Identities cover everything inside a cell; lineage follows the object."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.kernel


def _lock(folder: Path) -> dict:
    return json.loads((folder / "scratch.lock.json").read_text())


def test_a_re_executed_read_cell_gets_a_new_id_and_this_executions_writes(kernel, tmp_path: Path):
    pd.DataFrame({"a": [1, 2, 3]}).to_csv(tmp_path / "t.csv", index=False)
    kernel.ok("import pandas as pd")
    cell = "%%lock\ndf = pd.read_csv('t.csv')"
    kernel.ok(cell)
    first = _lock(tmp_path)
    pd.DataFrame({"a": [1, 2, 4]}).to_csv(tmp_path / "t.csv", index=False)
    kernel.ok(cell)
    second = _lock(tmp_path)
    locked = [c for c in second["cells"] if c.get("locked")]
    assert len(locked) == 2 and locked[0]["node"] != locked[1]["node"]
    new = second["nodes"][locked[1]["node"]]
    assert new["nodes"] == locked[1]["nodes"] and new["nodes"][0].startswith("@read_")
    # the recorded writes are the frame the kernel now holds
    from notelock.core.hashing import value_hash

    assert new["writes"]["df"] == value_hash(pd.read_csv(tmp_path / "t.csv"))
    assert new["writes"]["df"] != first["nodes"][locked[0]["node"]]["writes"]["df"]
    # the earlier execution is kept, and marked as replaced
    assert locked[0]["superseded_by"] == second["cells"].index(locked[1])
    assert second["nodes"][locked[0]["node"]].get("superseded") is True
    assert "superseded" not in new


def test_two_equal_reads_never_cross_link(kernel, tmp_path: Path):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    with closing(sqlite3.connect(tmp_path / "w.db")) as con:
        frame.to_sql("t", con, index=False)
    kernel.ok("import pandas as pd, sqlite3\nfrom sklearn.linear_model import LogisticRegression")
    kernel.ok("%%lock\nfrom_csv = pd.read_csv('t.csv')")
    kernel.ok("%%lock\nwith sqlite3.connect('w.db') as con:\n    from_sql = pd.read_sql_query('SELECT * FROM t', con)")
    kernel.ok("%%lock\nmodel = LogisticRegression().fit(from_sql[['x']], from_sql['y'])")
    lock = _lock(tmp_path)
    reads = {n["reader"]: nid for nid, n in lock["nodes"].items() if n["op"] == "read"}
    assert lock["nodes"][reads["pandas.read_csv"]]["output"] == lock["nodes"][reads["pandas.read_sql_query"]]["output"]
    fit_cell = next(c for c in lock["cells"] if "LogisticRegression().fit" in c["source"])
    cell_node = lock["nodes"][fit_cell["node"]]
    assert cell_node["inputs"] == [reads["pandas.read_sql_query"]]
    fit = next(n for n in lock["nodes"].values() if n["op"] == "fit")
    assert reads["pandas.read_csv"] not in fit["inputs"]

    # the CSV changes: the fit, which never saw it, keeps its id
    pd.DataFrame({"x": [9.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]}).to_csv(tmp_path / "t.csv", index=False)
    kernel.ok("%%lock\nfrom_csv = pd.read_csv('t.csv')")
    kernel.ok("%%lock\nmodel = LogisticRegression().fit(from_sql[['x']], from_sql['y'])")
    after = _lock(tmp_path)
    locked = [c for c in after["cells"] if c.get("locked")]
    assert locked[-1]["node"] == fit_cell["node"]


def test_fits_a_library_function_makes_are_part_of_that_call(kernel, tmp_path: Path):
    kernel.ok("import numpy as np\nfrom sklearn.model_selection import cross_val_score, permutation_test_score\n"
              "from sklearn.linear_model import LogisticRegression\n"
              "X = np.random.RandomState(0).rand(60, 3); y = (X[:, 0] > .5).astype(int)")
    kernel.ok("%%lock\nscores = cross_val_score(LogisticRegression(), X, y, cv=3)\n"
              "stat = permutation_test_score(LogisticRegression(), X, y, cv=3, n_permutations=20, random_state=0)\n"
              "model = LogisticRegression().fit(X, y)")
    lock = _lock(tmp_path)
    ops = sorted(n["op"] for n in lock["nodes"].values())
    # the user's own fit is a node; the 3 + 3 * 21 fits inside the two calls are not
    assert ops == ["cell", "fit"]
    cell = next(n for n in lock["nodes"].values() if n["op"] == "cell")
    assert {"scores", "stat", "model"} <= set(cell["writes"])
