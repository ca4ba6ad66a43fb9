"""The fast layer: a core Session and its interceptors driven with a plain
namespace (no kernel, no IPython), as the magics drive them. Seconds, not
minutes, and the lock it writes is checked against the format's JSON Schema
with the jsonschema package as an independent validator."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from notelock.core import lockfile, lockschema
from notelock.core.hashing import value_hash
from notelock.core.recorder import Session


def run(session: Session, code: str, *, locked: bool = True) -> dict:
    """What the magics do around one cell."""
    session.begin_cell(("%%lock\n" if locked else "") + code, code, locked=locked)
    error = None
    try:
        exec(compile(code, "<cell>", "exec"), session.ns)  # noqa: S102 - the cell
    except Exception as err:  # noqa: BLE001 - recorded as the cell's error
        error = err
    return session.end_cell(error, execution_count=len(session.cells) + 1)


@pytest.fixture
def session(tmp_path: Path) -> Session:
    pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]}).to_csv(tmp_path / "t.csv", index=False)
    ns: dict = {"__name__": "__main__", "pd": pd, "np": np}
    return Session(tmp_path / "nb.lock.json", tmp_path / "nb.ipynb", ns)


def test_reads_fits_and_cells_become_nodes_with_edges(session: Session, tmp_path: Path):
    import os

    os.chdir(tmp_path)
    run(session, "from sklearn.linear_model import LogisticRegression", locked=False)
    read_cell = run(session, "df = pd.read_csv('t.csv')")
    fit_cell = run(session, "model = LogisticRegression().fit(df[['x']], df['y'])\npred = model.predict(df[['x']])")
    lock = session.to_lock()
    read_id = read_cell["nodes"][0]
    assert lock["nodes"][read_id]["content"] == "xxh3_128:" + __import__("xxhash").xxh3_128_hexdigest(
        (tmp_path / "t.csv").read_bytes())
    fit_id, pred_id = fit_cell["nodes"]
    assert lock["nodes"][fit_cell["node"]]["inputs"] == [read_id]  # df is the object the read returned
    assert lock["nodes"][pred_id]["inputs"][0] == fit_id
    assert lock["nodes"][read_cell["node"]]["writes"]["df"] == value_hash(session.ns["df"])
    # the interceptors are gone once the cell ended
    assert not hasattr(pd.read_csv, "__notelock_original__")


def test_the_written_lock_validates_against_its_schema(session: Session, tmp_path: Path):
    import os

    os.chdir(tmp_path)
    run(session, "df = pd.read_csv('t.csv')\nimport time\nt0 = time.time()")
    run(session, "df2 = df.assign(z=df.x * 2)\nprint(df2.shape)")
    path = session.write()
    data = json.loads(path.read_text())
    jsonschema.Draft202012Validator(lockschema.schema()).validate(data)  # the independent validator
    assert lockfile.load_lock(path)["identity"] == data["identity"]       # and ours


def test_both_validators_refuse_the_same_broken_locks(session: Session, tmp_path: Path):
    import os

    os.chdir(tmp_path)
    run(session, "df = pd.read_csv('t.csv')")
    good = json.loads(session.write().read_text())
    broken = [
        {**good, "cells": "x"},
        {**good, "environment": []},
        {**good, "run": {"durations_s": {"a": "slow"}}},
        {**good, "nodes": {k: {**v, "op": "dance"} for k, v in good["nodes"].items()}},
    ]
    strict = jsonschema.Draft202012Validator(lockschema.schema())
    for data in broken:
        assert not strict.is_valid(data)
        with pytest.raises(lockschema.SchemaError):
            lockschema.validate(data)


def test_a_failing_cell_is_recorded_and_restores_everything(session: Session):
    entry = run(session, "df = pd.read_csv('missing.csv')")
    assert entry["error"] == "FileNotFoundError"
    assert not hasattr(pd.read_csv, "__notelock_original__")


def test_incremental_writes_equal_a_full_serialisation(session: Session, tmp_path: Path):
    """Every write reuses the text of what did not change; after each one, the
    file is exactly the canonical text of the lock made from scratch (cells
    re-run and superseded, nodes put in from outside, more than a screenful of
    durations)."""
    import os
    import random

    from notelock.core import canonical

    os.chdir(tmp_path)
    rng = random.Random(7)
    run(session, "df = pd.read_csv('t.csv')")
    for i in range(80):
        pick = rng.random()
        if pick < 0.3 and i:
            run(session, f"a{rng.randrange(i)} = df.x.sum() * 2")  # a re-run: supersedes the earlier one
        elif pick < 0.4:
            run(session, f"b{i} = 1", locked=False)
        else:
            run(session, f"a{i} = df.x.sum() + {i}\nr{i} = pd.read_csv('t.csv')")
        if i == 40:  # a node added without telling the session (as an older face might)
            session.nodes["@read_0000000000ff"] = dict(next(iter(session.nodes.values())))
        path = session.write()
        text = path.read_text()
        written = json.loads(text)
        assert text == canonical.dumps(written)  # canonical text, byte for byte
        fresh = json.loads(canonical.dumps(session.to_lock()))
        written["run"]["updated"] = fresh["run"]["updated"]
        assert written == fresh
    lock = json.loads(path.read_text())
    assert len(lock["run"]["durations_s"]) > 32 and "@read_0000000000ff" in lock["nodes"]
    assert any(node.get("superseded") for node in lock["nodes"].values())
    assert sum("superseded_by" in cell for cell in lock["cells"]) > 5


def test_a_lock_that_breaks_its_schema_is_never_written(session: Session, tmp_path: Path):
    """The suite runs with NOTELOCK_CHECK_WRITES (tests/conftest.py): every lock
    written anywhere in it is validated first; here, the positive control."""
    import os

    from notelock.core.errors import LockFileError

    assert os.environ.get("NOTELOCK_CHECK_WRITES") == "1"
    os.chdir(tmp_path)
    run(session, "df = pd.read_csv('t.csv')")
    path = session.write()
    before = path.read_bytes()
    session.events.register("lock_data", lambda data: data["run"].__setitem__("durations_s", "soon"))
    with pytest.raises(LockFileError, match="schema"):
        session.write()
    assert path.read_bytes() == before
