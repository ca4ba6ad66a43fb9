"""Helpers of the REST tests: small valid locks, notebooks, JSON bodies."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import xxhash

from notelock.core import lockfile


def _node(op: str, payload: dict, inputs=(), cell=0) -> tuple[str, dict]:
    node = {"op": op, **payload, "inputs": list(inputs), "cell": cell,
            "output": "xxh3_128:" + xxhash.xxh3_128_hexdigest(repr(payload).encode())}
    node["identity"] = lockfile.node_identity(node)
    return lockfile.node_id(op, node["identity"]), node


def make_lock(checksum: str | None = None) -> dict:
    """A small valid lock: a read then a fit, in two locked cells."""
    rid, read = _node("read", {"reader": "pandas.read_csv", "path": "x.csv", "content": "xxh3_128:" + "0" * 32,
                               "options": {}, "rows": 3, "columns": 2}, cell=0)
    fid, fit = _node("fit", {"method": "fit", "estimator": "sklearn.linear_model.LogisticRegression",
                             "params": {"C": 1.0}}, [rid], cell=1)
    cells = [{"execution_count": 1, "source": "%%lock\ndf = pd.read_csv('x.csv')", "locked": True, "nodes": [rid]},
             {"execution_count": 2, "source": "%%lock\nm.fit(df)", "locked": True, "nodes": [fid]}]
    return {"notelock": lockfile.FORMAT_VERSION, "identity": lockfile.lock_identity(cells), "cells": cells,
            "nodes": {rid: read, fid: fit}, "schemas": {},
            "workflow": {"notebook": "nb.ipynb", "checksum": checksum or "0" * 40,
                         "git": {"commit": "abc1234", "dirty": True}},
            "run": {"started": "2026-01-01T00:00:00Z", "durations_s": {rid: 0.01, fid: 0.5}}}


def write_notebook(path: Path, source: str = "x = 1") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(source))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def body(response) -> dict:
    return json.loads(response.body.decode("utf-8"))
