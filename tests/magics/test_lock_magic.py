"""%%lock and %lock in real kernels: recording, restoring, never breaking a cell."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest

from notelock.core.lockfile import load_lock

pytestmark = pytest.mark.kernel

SETUP = """
import pandas as pd, numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import GridSearchCV
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                          "b": [0.5, 0.1, 0.4, 0.9, 0.3, 0.8, 0.2, 0.7],
                          "y": [0, 0, 0, 1, 0, 1, 0, 1]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    return tmp_path


def _lock(folder: Path, name: str = "scratch.lock.json") -> dict:
    return load_lock(folder / name)


def _ops(lock: dict) -> list[str]:
    return [lock["nodes"][n]["op"] for c in lock["cells"] for n in c.get("nodes", [])]


def test_lock_file_written_beside_notebook_after_each_locked_cell(kernel, data_dir: Path):
    kernel.ok(SETUP)
    kernel.ok("%%lock\ndf = pd.read_csv('t.csv')")
    lock = _lock(data_dir)
    assert _ops(lock) == ["read"]
    kernel.ok("%%lock\nm = LogisticRegression().fit(df[['a','b']], df.y)\np = m.predict(df[['a','b']])")
    lock = _lock(data_dir)
    assert _ops(lock) == ["read", "fit", "predict"]


def test_raising_cell_raises_same_error_restores_and_keeps_previous_lock(kernel, data_dir: Path):
    kernel.ok(SETUP)
    kernel.ok("%%lock\ndf = pd.read_csv('t.csv')")
    path = data_dir / "scratch.lock.json"
    before = path.read_bytes()
    out = kernel.run("%%lock\nother = pd.read_csv('t.csv', sep=',')\nraise ValueError('boom 42')")
    assert out["status"] == "error"
    assert (out["ename"], out["evalue"]) == ("ValueError", "boom 42")
    assert path.read_bytes() == before
    assert kernel.value("hasattr(pd.read_csv, '__notelock_original__')") is False
    assert kernel.value("type(LogisticRegression.__dict__['fit']).__name__") == "function"
    # the next successful cell writes the failed execution too
    kernel.ok("%%lock\nz = 1")
    lock = _lock(data_dir)
    [failed] = [c for c in lock["cells"] if "boom 42" in c["source"]]
    assert failed["error"] == "ValueError"


def test_interrupted_cell_restores_originals(kernel, data_dir: Path):
    kernel.ok(SETUP)
    msg_id = kernel.kc.execute("%%lock\nimport time\ndf = pd.read_csv('t.csv')\nprint('read', flush=True)\n"
                               "time.sleep(30)")
    # interrupt once the cell is inside its sleep, with the interceptors in place
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        msg = kernel.kc.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream" \
                and "read" in msg["content"]["text"]:
            break
    time.sleep(0.5)
    kernel.km.interrupt_kernel()
    reply = kernel.kc.get_shell_msg(timeout=30)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert kernel.value("hasattr(pd.read_csv, '__notelock_original__')") is False


def test_only_outermost_call_is_a_node(kernel, data_dir: Path):
    kernel.ok(SETUP + "df = pd.read_csv('t.csv')")
    kernel.ok("%%lock\npipe = make_pipeline(StandardScaler(), LogisticRegression())\n"
              "pipe.fit(df[['a','b']], df.y)\n"
              "gs = GridSearchCV(LogisticRegression(), {'C': [0.1, 1.0]}, cv=2).fit(df[['a','b']], df.y)")
    lock = _lock(data_dir)
    fits = [n for n in lock["nodes"].values() if n["op"] == "fit"]
    assert sorted(f["estimator"] for f in fits) == ["sklearn.model_selection.GridSearchCV",
                                                     "sklearn.pipeline.Pipeline"]
    assert all(n["op"] in ("fit", "cell") for n in lock["nodes"].values())


def test_user_defined_estimator_is_intercepted(kernel, data_dir: Path):
    kernel.ok(SETUP + "from sklearn.base import BaseEstimator\n"
              "class Mean(BaseEstimator):\n"
              "    def __init__(self, shift=0.0):\n        self.shift = shift\n"
              "    def fit(self, X, y=None):\n        self.mean_ = float(np.mean(X)) + self.shift\n        return self\n"
              "    def predict(self, X):\n        return np.full(len(X), self.mean_)\n")
    kernel.ok("%%lock\nm = Mean(shift=1.0).fit([1.0, 2.0, 3.0])\nr = m.predict([0, 0])")
    lock = _lock(data_dir)
    [fit] = [n for n in lock["nodes"].values() if n["op"] == "fit"]
    assert fit["estimator"] == "__main__.Mean" and fit["params"] == {"shift": 1.0}
    assert any(n["op"] == "predict" for n in lock["nodes"].values())


def test_estimator_class_defined_inside_the_locked_cell(kernel, data_dir: Path):
    kernel.ok(SETUP + "from sklearn.base import BaseEstimator")
    kernel.ok("%%lock\nclass Const(BaseEstimator):\n    def fit(self, X, y=None):\n        self.c_ = 1\n        return self\n"
              "k = Const().fit([1])")
    lock = _lock(data_dir)
    assert [n["estimator"] for n in lock["nodes"].values() if n["op"] == "fit"] == ["__main__.Const"]
    assert kernel.value("'fit' in Const.__dict__ and type(Const.__dict__['fit']).__name__") == "function"


def test_reader_options_are_part_of_identity(kernel, data_dir: Path):
    kernel.ok(SETUP)
    kernel.ok("%%lock\na = pd.read_csv('t.csv')\nb = pd.read_csv('t.csv', usecols=['a', 'y'])\n"
              "c = pd.read_csv('t.csv', dtype={'a': 'float32'})")
    reads = [n for n in _lock(data_dir)["nodes"].values() if n["op"] == "read"]
    assert len(reads) == 3
    assert len({r["content"] for r in reads}) == 1
    assert {json.dumps(r["options"], sort_keys=True) for r in reads} == {
        "{}", '{"usecols": ["a", "y"]}', '{"dtype": {"a": "float32"}}'}


def test_from_pandas_import_reader_is_intercepted(kernel, data_dir: Path):
    kernel.ok("from pandas import read_csv")
    kernel.ok("%%lock\ndf = read_csv('t.csv')")
    assert _ops(_lock(data_dir)) == ["read"]
    assert kernel.value("hasattr(read_csv, '__notelock_original__')") is False


def test_editing_a_helper_changes_every_cell_that_reaches_it(kernel, data_dir: Path):
    kernel.ok("def leaf(x):\n    return x + 1\ndef middle(x):\n    return leaf(x) * 2")
    kernel.ok("%%lock\nv = middle(3)")
    first = _lock(data_dir)["cells"][-1]["node"]
    kernel.ok("%%lock\nv = middle(3)")
    assert _lock(data_dir)["cells"][-1]["node"] == first
    kernel.ok("def leaf(x):\n    return x + 1  # a comment only")
    kernel.ok("%%lock\nv = middle(3)")
    assert _lock(data_dir)["cells"][-1]["node"] == first, "comments do not change code identity"
    kernel.ok("def leaf(x):\n    return x + 2")
    kernel.ok("%%lock\nv = middle(3)")
    assert _lock(data_dir)["cells"][-1]["node"] != first


def test_sql_read_against_real_sqlite_hides_password(kernel, data_dir: Path):
    with sqlite3.connect(data_dir / "db.sqlite") as con:
        pd.DataFrame({"k": [1, 2, 3], "v": ["x", "y", None]}).to_sql("t", con, index=False)
    kernel.ok("import sqlite3, pandas as pd")
    kernel.ok("%%lock\ncon = sqlite3.connect('db.sqlite')\nr = pd.read_sql_query('SELECT * FROM t', con)\n"
              "t = pd.read_sql('SELECT k FROM t WHERE k > 1', con)\ncon.close()\ndel con")
    lock = _lock(data_dir)
    [cell] = [c for c in lock["cells"] if "read_sql_query" in c["source"]]
    reads = [lock["nodes"][n] for n in cell["nodes"]]
    assert [r["reader"] for r in reads] == ["pandas.read_sql_query", "pandas.read_sql"]
    assert [r["connection"] for r in reads] == ["sqlite:///db.sqlite"] * 2
    assert reads[0]["rows"] == 3
    nulls = {c["name"]: c["nulls"] for c in lock["schemas"][reads[0]["schema"]]["columns"]}
    assert nulls == {"k": 0, "v": 1}


def test_unhashable_values_are_opaque_and_never_break_the_cell(kernel, data_dir: Path):
    kernel.ok("%%lock\nimport threading\ng = (i for i in range(3))\nlk = threading.Lock()\nresult = sum(g)")
    assert kernel.value("result") == 3
    lock = _lock(data_dir)
    node = lock["nodes"][lock["cells"][-1]["node"]]
    assert "lk" in node["opaque"]


def test_last_expression_is_displayed(kernel, data_dir: Path):
    out = kernel.ok("%%lock\n6 * 7")
    assert out["data"][0]["text/plain"] == "42"


def test_magic_help_is_real(kernel):
    cell = kernel.ok("%%lock?")
    line = kernel.ok("%lock?")
    assert "--nondeterministic" in cell["page"] and "Examples" in cell["page"]
    assert "export [PATH]" in line["page"]


def test_lock_summary_and_export(kernel, data_dir: Path):
    kernel.ok(SETUP)
    kernel.ok("%%lock\ndf = pd.read_csv('t.csv')")
    shown = kernel.ok("%lock")
    html = shown["data"][0]["text/html"]
    assert "read_csv t.csv — 8 × 3" in html
    out = kernel.ok("%lock export elsewhere.json")
    assert "wrote" in out["stdout"]
    assert load_lock(data_dir / "elsewhere.json")["identity"] == _lock(data_dir)["identity"]


def test_without_a_notebook_falls_back_to_working_directory(kernel_factory, tmp_path: Path):
    k = kernel_factory(notebook=None)
    out = k.ok("%load_ext notelock")
    help_ = k.ok("%lock?")
    # loading and asking for help write nothing, so they say nothing
    assert "notelock.lock.json" not in out["stderr"] + help_["stderr"]
    assert not (tmp_path / "notelock.lock.json").exists()
    out = k.ok("%%lock\nx = 1")
    assert "notelock.lock.json" in out["stderr"] and "NOTELOCK_NOTEBOOK" in out["stderr"]
    assert (tmp_path / "notelock.lock.json").exists()
    out = k.ok("%%lock\ny = 2")
    assert "notelock.lock.json" not in out["stderr"]


def test_corrupt_existing_lock_is_replaced_by_new_session(kernel_factory, tmp_path: Path):
    (tmp_path / "scratch.lock.json").write_text('{"notelock": 1, "cells": [')
    k = kernel_factory()
    k.ok("%load_ext notelock")
    k.ok("%%lock\nx = 1")
    assert _lock(tmp_path)["cells"][-1]["locked"] is True


def test_libraries_imported_inside_the_locked_cell_are_intercepted(kernel_factory, data_dir: Path):
    k = kernel_factory(cwd=data_dir)
    k.ok("%load_ext notelock")
    k.ok("%%lock\nimport pandas as pd\nfrom sklearn.linear_model import LinearRegression\n"
         "df = pd.read_csv('t.csv')\nm = LinearRegression().fit(df[['a']], df.b)")
    assert _ops(_lock(data_dir)) == ["read", "fit"]
    assert k.value("hasattr(pd.read_csv, '__notelock_original__')") is False
    assert k.value("type(pd).__name__ == 'module' and pd.__loader__.__class__.__name__ != '_NotifyingLoader'")


def test_runtime_bindings_count_as_writes(kernel, data_dir: Path):
    kernel.ok("%%time\nmade_inside = 41")
    kernel.ok("%%lock\nuse = made_inside + 1")
    lock = _lock(data_dir)
    [timed] = [c for c in lock["cells"] if c["source"].startswith("%%time")]
    assert "made_inside" in timed["writes"]
    out = kernel.ok("%lock status")
    assert "not replayable" not in json.dumps(out["data"])


def test_frame_modified_after_the_read_is_hashed_as_written(kernel, data_dir: Path):
    kernel.ok(SETUP + "def touch(frame):\n    frame.loc[0, 'a'] = 99.0\n    return frame")
    kernel.ok("%%lock\nplain = pd.read_csv('t.csv')")
    kernel.ok("%%lock\ntouched = touch(pd.read_csv('t.csv'))")
    lock = _lock(data_dir)
    plain_cell, touched_cell = [lock["nodes"][c["node"]] for c in lock["cells"] if c.get("node")][-2:]
    [plain_read] = [lock["nodes"][n] for n in lock["cells"][-2]["nodes"]]
    assert plain_cell["writes"]["plain"] == plain_read["output"]
    assert touched_cell["writes"]["touched"] != plain_read["output"]
    from notelock.core.hashing import value_hash
    expected = pd.read_csv(data_dir / "t.csv")
    expected.loc[0, "a"] = 99.0
    assert touched_cell["writes"]["touched"] == value_hash(expected)
