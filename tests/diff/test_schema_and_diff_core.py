"""Schema comparison and the diff's classification on small lock-shaped data (no kernels)."""

from __future__ import annotations

from notelock.core import schema
from notelock.core.diff import diff_locks, render_text
from notelock.core.numeric import summarize, within_tolerance

COLS = [{"name": "date", "dtype": "str", "nulls": 0}, {"name": "amount", "dtype": "float64", "nulls": 0}]


def test_schema_message_names_added_column_with_null_share_and_rows():
    new = {"columns": COLS + [{"name": "merchant_risk_score", "dtype": "float64", "nulls": 61}]}
    change = schema.compare({"columns": COLS}, 100, new, 100)
    assert change["changed"]
    change = schema.compare({"columns": COLS}, 80, new, 100)
    assert schema.message("transactions.csv", change) == \
        "transactions.csv: schema changed: + merchant_risk_score (float64, 61% null); rows 80 → 100"


def test_schema_dtype_and_nullability_changes():
    new = [{"name": "date", "dtype": "str", "nulls": 3}, {"name": "amount", "dtype": "object", "nulls": 0}]
    change = schema.compare({"columns": COLS}, 10, {"columns": new}, 10)
    assert schema.parts(change) == ["~ amount: float64 → object", "~ date: now has nulls (30% null)"]
    assert not schema.compare({"columns": COLS}, 10, {"columns": COLS}, 12)["changed"]
    assert schema.message("x", schema.compare({"columns": COLS}, 10, {"columns": COLS}, 12)) == \
        "x: content changed: rows 10 → 12"


def _lock(content: str, depth: int, out: str) -> dict:
    h = lambda c: "xxh3_128:" + c * 32  # noqa: E731
    read = f"@read_{content * 12}"
    fit = "@fit_" + content * 6 + format(depth, "06x")
    return {
        "identity": h(content + str(depth % 10)),
        "cells": [{"source": "df = read()", "node": None, "nodes": [read]},
                  {"source": f"fit(max_depth={depth})", "nodes": [fit]}],
        "nodes": {read: {"op": "read", "reader": "pandas.read_csv", "path": "t.csv", "content": h(content),
                         "options": {}, "inputs": [], "output": h(content), "rows": 10, "schema": "s"},
                  fit: {"op": "fit", "estimator": "sklearn.tree.DecisionTreeClassifier", "method": "fit",
                        "params": {"max_depth": depth}, "args": {"X": h(content)}, "inputs": [read],
                        "output": h(out)}},
        "schemas": {"s": {"columns": COLS}},
    }


def test_diff_classifies_root_causes_and_consequences():
    a, data_changed, param_changed = _lock("a", 10, "1"), _lock("b", 10, "2"), _lock("a", 12, "3")
    d = diff_locks(a, data_changed)
    assert [n["op"] for n in d["nodes"] if n["status"] == "root cause"] == ["read"]
    assert [n["op"] for n in d["nodes"] if n["status"] == "consequence"] == ["fit"]
    d = diff_locks(a, param_changed)
    assert d["data"] == [] and d["parameters"][0]["lines"] == ["max_depth: 10 → 12"]
    assert "ROOT CAUSE" in render_text(d)
    assert diff_locks(a, a)["identical"]


def test_numeric_tolerance_on_summaries():
    import numpy as np

    x = np.linspace(1, 2, 1000)
    assert within_tolerance(summarize(x), summarize(x * (1 + 1e-10)), 1e-9, 0)[0]
    ok, why = within_tolerance(summarize(x), summarize(x + 1e-3), 1e-9, 0)
    assert not ok and why
    assert within_tolerance(summarize(1.0), summarize(1.0 + 1e-12), 1e-9, 0)[0]
    assert summarize("text") is None
