"""The notebook's status against its lock through the REST API (a real jupyter_server).

``state`` in ``GET /notelock/lock`` and ``GET /notelock/status`` (which also
answers for a lock that does not load, with the commands that recover it).
"""

from __future__ import annotations

import json

import nbformat
import pytest
from rest_helpers import body, make_lock, write_notebook
from tornado.httpclient import HTTPClientError

from notelock.core import lockfile
from notelock.core.workflow import notebook_fingerprint


def lock_for(nb, source_cells):
    """A valid lock whose two cells ran *source_cells* in the notebook *nb* as saved now."""
    checksum, parts = notebook_fingerprint(nb)
    lock = make_lock(checksum)
    for cell, source in zip(lock["cells"], source_cells):
        cell["source"] = source
    lock["identity"] = lockfile.lock_identity(lock["cells"])
    lock["workflow"].update(saved=True, parts=parts)
    return lock


@pytest.fixture
def two_cells(jp_root_dir):
    nb_path = jp_root_dir / "two.ipynb"
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    sources = ["%%lock\ndf = pd.read_csv('x.csv')", "%%lock\nm.fit(df)"]
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, nb_path)
    (jp_root_dir / "x.csv").write_text("a,b\n1,2\n")
    lock = lock_for(nb_path, sources)
    lock["nodes"] = {k: {**v, "bytes": 8} if v["op"] == "read" else v for k, v in lock["nodes"].items()}
    lockfile.write_lock(jp_root_dir / "two.lock.json", lock)
    return nb_path, nb


async def test_the_lock_reply_says_why_a_save_made_it_stale(jp_fetch, two_cells):
    nb_path, nb = two_cells
    reply = body(await jp_fetch("notelock", "lock", params={"path": "two.ipynb"}))
    assert reply["status"] == "up to date" and reply["state"]["state"] in ("up to date", "inputs drifted")
    # JupyterLab's save rewrites the kernel's display name: stale checksum, same code
    nb.metadata.kernelspec.display_name = "Python 3 (ipykernel)"
    nbformat.write(nb, nb_path)
    reply = body(await jp_fetch("notelock", "lock", params={"path": "two.ipynb"}))
    assert reply["status"] == "stale"
    assert reply["state"]["state"] == "metadata changed"
    assert reply["state"]["fields"] == ["metadata.kernelspec.display_name"]
    # an edited cell is code changed, and named
    nb.cells[1].source = "%%lock\nm.fit(df, y)"
    nbformat.write(nb, nb_path)
    state = body(await jp_fetch("notelock", "lock", params={"path": "two.ipynb"}))["state"]
    assert state["state"] == "code changed"
    assert [(c["index"], c["change"]) for c in state["cells"]] == [(2, "edited")]


async def test_inputs_are_hashed_on_demand(jp_fetch, two_cells, jp_root_dir):
    (jp_root_dir / "x.csv").write_text("a,b\n3,4\n")  # same size, other bytes
    cheap = body(await jp_fetch("notelock", "lock", params={"path": "two.ipynb"}))["state"]
    assert cheap["state"] == "up to date" and cheap["inputs"] == "stat"
    hashed = body(await jp_fetch("notelock", "status", params={"path": "two.ipynb", "inputs": "hash"}))
    assert hashed["state"] == "inputs drifted"
    assert [(d["path"], d["reason"]) for d in hashed["drifted"]] == [("x.csv", "content")]
    assert hashed["recovery"] is None and "--against-current" in hashed["message"]
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("notelock", "status", params={"path": "two.ipynb", "inputs": "all"})
    assert info.value.code == 400


async def test_status_of_an_unreadable_lock_names_the_recovery(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "bad.ipynb")
    (jp_root_dir / "bad.lock.json").write_bytes(b'{"notelock": 2, "cells": [')
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("notelock", "lock", params={"path": "bad.ipynb"})
    assert info.value.code == 422  # the lock route keeps its contract
    reply = body(await jp_fetch("notelock", "status", params={"path": "bad.ipynb"}))
    assert reply["state"] == "unreadable"
    assert "bad.lock.json" in reply["message"] and "invalid JSON" in reply["message"]
    assert str(jp_root_dir) not in json.dumps(reply)
    assert "notelock lock bad.ipynb" in reply["recovery"]


async def test_status_needs_authentication_and_a_notebook(jp_fetch, locked_notebook):
    ok = await jp_fetch("notelock", "status", params={"path": "sub/nb.ipynb"})
    assert ok.code == 200  # positive control
    for params, headers, code in [({"path": "sub/nb.ipynb"}, {"Authorization": ""}, 403),
                                  ({"path": "nope.ipynb"}, {}, 404), ({"path": "x.csv"}, {}, 400),
                                  ({"path": "../etc/x.ipynb"}, {}, 403)]:
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("notelock", "status", params=params, headers=headers)
        assert info.value.code == code, params
