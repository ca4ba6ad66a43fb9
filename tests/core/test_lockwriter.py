"""The session's lock writer: writes in order, a waiting write replaced by a
newer one, failures kept for the face, and a large lock written while the
next cell runs — always a whole, canonical file."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from notelock.core import canonical, lockfile, lockwriter
from notelock.core.errors import LockFileError
from notelock.core.lockwriter import LockWriter
from notelock.core.recorder import Session


def _lock_text(n: int) -> list[bytes]:
    data = {"notelock": lockfile.FORMAT_VERSION, "cells": [{"n": n}], "nodes": {}}
    return [canonical.dumps(data).encode()]


class _Gate:
    """A write function that holds its first call until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls: list[bytes] = []

    def __call__(self, target: Path, pieces: list[bytes], **options) -> Path:
        self.calls.append(b"".join(pieces))
        if len(self.calls) == 1:
            self.entered.set()
            assert self.release.wait(10)
        target.write_bytes(b"".join(pieces))
        return target


def test_a_waiting_write_is_replaced_by_a_newer_one_of_the_same_file(tmp_path: Path):
    gate = _Gate()
    writer = LockWriter(write=gate)
    target = tmp_path / "nb.lock.json"
    first = writer.submit(target, _lock_text(1))
    assert gate.entered.wait(10)
    second = writer.submit(target, _lock_text(2))  # waits behind the first ...
    third = writer.submit(target, _lock_text(3))   # ... and is dropped for this one
    gate.release.set()
    assert third.result() == target and second.result() == target and first.result() == target
    writer.wait()
    assert [json.loads(c)["cells"][0]["n"] for c in gate.calls] == [1, 3]
    assert json.loads(target.read_text())["cells"] == [{"n": 3}]


def test_a_failed_background_write_is_kept_once_for_the_face(tmp_path: Path):
    writer = LockWriter()
    job = writer.submit(tmp_path / "missing" / "nb.lock.json", _lock_text(1))
    with pytest.raises((LockFileError, OSError)):
        job.result()
    failure = writer.take_failure()
    assert failure is not None and "missing" in str(failure)
    assert writer.take_failure() is None  # reported once


def _run(session: Session, code: str) -> None:
    session.begin_cell("%%lock\n" + code, code, locked=True)
    exec(compile(code, "<cell>", "exec"), session.ns)  # noqa: S102 - the cell
    session.end_cell(None, execution_count=len(session.cells) + 1)


def test_a_large_lock_is_written_behind_the_cell_and_settled_whole(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(lockwriter, "SYNC_BYTES", 2_000)
    import notelock.core.recorder as recorder

    monkeypatch.setattr(recorder, "SYNC_BYTES", 2_000)
    session = Session(tmp_path / "nb.lock.json", tmp_path / "nb.ipynb", {"__name__": "__main__"})
    for i in range(12):  # the lock grows past 2,000 bytes
        _run(session, f"v{i} = {i}")
        session.write(wait=False)
    assert session.settle() is None
    assert session.lock_path.stat().st_size > 2_000
    assert json.loads(session.lock_path.read_text())["cells"][-1]["source"].endswith("v11 = 11")
    gate = _Gate()
    session._writer = LockWriter(write=gate)
    _run(session, "late = 1")
    returned = threading.Event()

    def cell_write():
        session.write(wait=False)
        returned.set()

    threading.Thread(target=cell_write, daemon=True).start()
    assert gate.entered.wait(10)
    assert returned.wait(10), "a large lock's write made the cell wait"
    assert "late" not in session.lock_path.read_text()  # still the previous, whole file
    gate.release.set()
    assert session.settle() is None
    text = session.lock_path.read_text()
    written = json.loads(text)
    assert text == canonical.dumps(written)
    assert written["cells"][-1]["source"].endswith("late = 1")
    fresh = json.loads(canonical.dumps(session.to_lock()))
    written["run"]["updated"] = fresh["run"]["updated"]
    assert written == fresh


def test_a_small_lock_is_on_disk_when_the_write_returns(tmp_path: Path):
    session = Session(tmp_path / "nb.lock.json", tmp_path / "nb.ipynb", {"__name__": "__main__"})
    _run(session, "x = 1")
    session.write(wait=False)
    assert json.loads(session.lock_path.read_text())["cells"][0]["source"].endswith("x = 1")
