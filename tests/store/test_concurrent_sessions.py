"""Two kernels on one notebook, started in the same second, writing one lock
cell after cell in turn: neither session's record is ever lost — the lock
holds the last writer's cells and every version the other one wrote is kept
in history, each with its own session id."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from notelock.core.history import history_versions, load_version

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

CELLS = 12


def test_two_kernels_on_one_notebook_lose_no_session(kernel_factory, tmp_path: Path):
    (tmp_path / "shared.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                                                       "nbformat_minor": 5}))
    env = {"NOTELOCK_ALLOW_DIRTY": "1"}
    kernels = [kernel_factory(notebook="shared.ipynb", env=env) for _ in range(2)]
    # load notelock in both at the same moment (the same second)
    loaded = [threading.Thread(target=k.ok, args=("%load_ext notelock",)) for k in kernels]
    for t in loaded:
        t.start()
    for t in loaded:
        t.join()
    for i in range(CELLS):
        for n, k in enumerate(kernels):
            k.ok(f"%%lock\nk{n}_{i} = {i} * {n + 1}")
    sessions = [k.value("__import__('notelock.kernel', fromlist=['x']).recording_of(get_ipython())"
                        ".session.session_id") for k in kernels]
    assert sessions[0] != sessions[1]

    lock_path = tmp_path / "shared.lock.json"
    current = json.loads(lock_path.read_text())
    versions = [load_version(lock_path, v.number) for v in history_versions(lock_path)]
    seen: dict[str, int] = {}
    for lock in [current, *versions]:
        sid = lock["run"]["session"]
        seen[sid] = max(seen.get(sid, 0), len(lock["cells"]))
    # each session's latest record (all its locked cells and %load_ext) survives somewhere
    assert set(seen) == set(sessions)
    assert all(count >= CELLS for count in seen.values()), seen
    names = {name for lock in [current, *versions] for cell in lock["cells"] for name in cell["writes"]}
    assert {f"k{n}_{CELLS - 1}" for n in range(2)} <= names
