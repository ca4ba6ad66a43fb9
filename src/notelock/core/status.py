"""How a notebook stands against its lock: one state, with what explains it.

``workflow.checksum`` is the nbstripout hash of the notebook as saved when the
lock was written; it is kept exactly that. This module is what makes the
*comparison* smart enough for a badge: a save that only rewrote
``kernelspec.display_name`` is not "code changed", and code that ran without
being saved is not "up to date".

States, the first that applies wins:

``missing``           no lock file yet;
``unreadable``        the lock file does not load (``recovery`` says what to run);
``code changed``      a code cell of the saved notebook differs from what the lock ran (``cells``);
``ran unsaved code``  the lock ran code that is not in the saved notebook (``cells``);
``inputs drifted``    a file a current read node read now has other bytes (``drifted``);
``metadata changed``  the checksum differs, the code does not (``fields`` names what did);
``up to date``        none of the above.

Input drift is checked cheaply: a file whose size differs from the recorded
``bytes`` has drifted without being read; otherwise its content is hashed
(``inputs="hash"``) and the hash kept per (path, size, mtime), so a file that
did not change since it was last checked is never read twice. With
``inputs="stat"`` nothing is read: only sizes and remembered hashes count.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import NotelockError
from .hashing.base import hash_file
from .lockfile import load_lock, lock_path_for
from .secrets import redact_source
from .workflow import notebook_fingerprint

__all__ = ["STATES", "Status", "input_drift", "notebook_status"]

STATES = ("missing", "unreadable", "code changed", "ran unsaved code", "inputs drifted",
          "metadata changed", "up to date")

_MAX_NAMED = 20  # cells or fields listed; a count says the rest
_HASHES: dict[tuple[str, int, int], str] = {}
_HASHES_LOCK = threading.Lock()
_HASHES_MAX = 4096


@dataclass
class Status:
    """A notebook's status against its lock (see the module docstring)."""

    state: str
    message: str
    cells: list[dict[str, Any]] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    drifted: list[dict[str, Any]] = field(default_factory=list)
    checksum: str | None = None
    recovery: str | None = None
    inputs: str = "stat"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (the REST API's ``state``; docs/rest.md)."""
        return {"state": self.state, "message": self.message, "cells": self.cells,
                "fields": self.fields, "drifted": self.drifted, "checksum": self.checksum,
                "recovery": self.recovery, "inputs": self.inputs}


def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip("\n").splitlines()).strip()


def _first_line(source: str) -> str:
    for line in source.splitlines():
        text = line.strip()
        if text and not text.startswith("%%lock") and not text.startswith("#"):
            return text[:80]
    return ""


def _notebook_cells(path: Path) -> list[dict[str, Any]]:
    """``{"index", "id", "source"}`` of the saved notebook's code cells (index: 1-based, all cells)."""
    with open(path, encoding="utf8") as f:
        nb = json.load(f)
    cells = []
    for i, cell in enumerate(nb.get("cells") or [], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        cells.append({"index": i, "id": cell.get("id"), "source": source})
    return cells


def _current_cells(lock: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """``(position, cell)`` of the executions that are the kernel's current state."""
    return [(i, c) for i, c in enumerate(lock.get("cells") or [])
            if isinstance(c, dict) and "superseded_by" not in c and str(c.get("source", "")).strip()]


def _same(notebook_source: str, recorded: str) -> bool:
    wanted = _norm(recorded)
    return _norm(notebook_source) == wanted or _norm(redact_source(notebook_source)[0]) == wanted


def _cell_entry(nb_cell: dict[str, Any] | None, recorded: dict[str, Any] | None, change: str) -> dict[str, Any]:
    source = (nb_cell or {}).get("source") if nb_cell else (recorded or {}).get("source", "")
    entry: dict[str, Any] = {"change": change, "line": _first_line(str(source or ""))}
    if nb_cell is not None:
        entry["index"] = nb_cell["index"]
        if nb_cell.get("id"):
            entry["cell_id"] = nb_cell["id"]
    if recorded is not None and isinstance(recorded.get("execution_count"), int):
        entry["execution_count"] = recorded["execution_count"]
    return entry


def _code_differences(lock: dict[str, Any], nb_cells: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(edited, not_in_lock)``: current executions whose cell now holds other
    code (or is gone), and saved code cells the lock's current state did not run."""
    by_id = {c["id"]: c for c in nb_cells if c.get("id")}
    edited: list[dict[str, Any]] = []
    matched: set[int] = set()
    unmatched: list[dict[str, Any]] = []  # executions without a cell id whose code is nowhere now
    for _, cell in _current_cells(lock):
        recorded = str(cell.get("source", ""))
        nb_cell = by_id.get(cell.get("cell_id")) if cell.get("cell_id") else None
        if nb_cell is not None:
            matched.add(nb_cell["index"])
            if not _same(nb_cell["source"], recorded):
                edited.append(_cell_entry(nb_cell, cell, "edited"))
            continue
        same = [c for c in nb_cells if c["index"] not in matched and _same(c["source"], recorded)]
        if same:
            matched.add(same[0]["index"])
        elif cell.get("cell_id"):
            edited.append(_cell_entry(None, cell, "removed"))
        else:
            unmatched.append(cell)
    # Without ids, an execution whose code is gone pairs with the next notebook
    # cell nobody matched: the same cell, edited.
    spare = [c for c in nb_cells if c["index"] not in matched and c["source"].strip()]
    for cell in unmatched:
        nb_cell = spare.pop(0) if spare else None
        if nb_cell is not None:
            matched.add(nb_cell["index"])
        edited.append(_cell_entry(nb_cell, cell, "edited" if nb_cell is not None else "removed"))
    not_in_lock = [_cell_entry(c, None, "not run") for c in nb_cells
                   if c["index"] not in matched and c["source"].strip()]
    return edited, not_in_lock


def _changed_fields(recorded: dict[str, Any], now: dict[str, Any]) -> list[str]:
    fields = []
    if recorded.get("text") != now.get("text"):
        fields.append("markdown")
    before, after = recorded.get("metadata") or {}, now.get("metadata") or {}
    fields += [f"metadata.{key}" for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]
    return fields


def _remembered_hash(path: Path, size: int, mtime_ns: int, compute: bool) -> str | None:
    key = (str(path), size, mtime_ns)
    with _HASHES_LOCK:
        known = _HASHES.get(key)
    if known is not None or not compute:
        return known
    digest = hash_file(path)
    with _HASHES_LOCK:
        if len(_HASHES) >= _HASHES_MAX:
            _HASHES.clear()
        _HASHES[key] = digest
    return digest


def input_drift(lock: dict[str, Any], folder: str | os.PathLike[str], inputs: str = "hash") -> list[dict[str, Any]]:
    """Current read nodes whose file (relative to *folder*) no longer holds
    what was read: ``{"node", "path", "recorded", "current", "reason"}`` with
    reason ``missing``, ``size`` or ``content``. Reads of SQL, URLs and
    buffers are not checked (that would mean running the query)."""
    if inputs not in ("stat", "hash"):
        raise NotelockError(f"inputs must be 'stat' or 'hash', not {inputs!r}")
    base = Path(folder)
    found = []
    for node_id, node in sorted((lock.get("nodes") or {}).items()):
        if node.get("op") != "read" or node.get("superseded") or not node.get("path") or not node.get("content"):
            continue
        path = base / node["path"]
        entry = {"node": node_id, "path": node["path"], "recorded": node["content"], "current": None}
        try:
            st = path.stat()
        except OSError:
            found.append({**entry, "reason": "missing"})
            continue
        if isinstance(node.get("bytes"), int) and st.st_size != node["bytes"]:
            found.append({**entry, "reason": "size"})
            continue
        try:
            digest = _remembered_hash(path.resolve(), st.st_size, st.st_mtime_ns, inputs == "hash")
        except OSError:
            found.append({**entry, "reason": "missing"})
            continue
        if digest is not None and digest != node["content"]:
            found.append({**entry, "current": digest, "reason": "content"})
    return found


def _recovery(notebook: Path, lock_path: Path) -> str:
    return (f"rebuild it with `notelock lock {notebook.name}`, or see the kept versions with "
            f"`notelock log {notebook.name}` (then `notelock show {notebook.name}~1`)")


def _named(cells: list[dict[str, Any]]) -> str:
    names = [f"cell {c['index']}" if "index" in c else f"[{c.get('execution_count', '?')}]" for c in cells[:3]]
    more = f" and {len(cells) - 3} more" if len(cells) > 3 else ""
    return ", ".join(names) + more


def notebook_status(notebook_path: str | os.PathLike[str], lock_path: str | os.PathLike[str] | None = None,
                    *, inputs: str = "stat", lock: dict[str, Any] | None = None) -> Status:
    """The status of the saved notebook against its lock (see the module docstring).

    *lock_path* defaults to the lock beside the notebook; an already loaded
    *lock* may be passed to save reading it again. *inputs* is ``"stat"``
    (cheap: sizes and remembered hashes) or ``"hash"`` (read files whose
    stat changed). Raises :class:`NotelockError` only when the notebook
    itself cannot be read.
    """
    notebook = Path(notebook_path)
    lock_file = Path(lock_path) if lock_path is not None else lock_path_for(notebook)
    checksum, parts = notebook_fingerprint(notebook)
    if lock is None:
        if not lock_file.is_file():
            return Status("missing", f"no lock yet: run a %%lock cell of {notebook.name}", checksum=checksum,
                          inputs=inputs)
        try:
            lock = load_lock(lock_file)
        except NotelockError as err:
            return Status("unreadable", str(err).replace(str(lock_file.parent) + os.sep, ""),
                          checksum=checksum, recovery=_recovery(notebook, lock_file), inputs=inputs)
    workflow = lock.get("workflow") or {}
    nb_cells = _notebook_cells(notebook)
    drifted = input_drift(lock, lock_file.parent, inputs)
    same_file = workflow.get("checksum") == checksum
    status = Status("up to date", "the lock ran the saved notebook's code", checksum=checksum,
                    drifted=drifted, inputs=inputs)
    recorded_parts = workflow.get("parts") if isinstance(workflow.get("parts"), dict) else None
    code_same = recorded_parts is not None and recorded_parts.get("code") == parts.get("code")
    changed: list[dict[str, Any]] = []
    if not same_file:
        edited, not_in_lock = _code_differences(lock, nb_cells)
        # Cells the kernel never ran count only when the code is not known to be the same.
        changed = edited + ([] if code_same else not_in_lock)
    unsaved = _code_differences(lock, nb_cells)[0] if same_file and workflow.get("saved") is False else []
    if unsaved:
        status.state = "ran unsaved code"
        status.cells = [dict(c, change="unsaved") for c in unsaved][:_MAX_NAMED]
        status.message = f"the lock ran code that is not saved in {notebook.name} ({_named(unsaved)}): save it"
    elif changed or (recorded_parts is not None and not code_same and workflow.get("saved") is not False
                     and not same_file):
        status.state = "code changed"
        status.cells = changed[:_MAX_NAMED]
        status.message = f"code changed since the lock: {_named(changed) if changed else 'the order of the cells'}"
    elif drifted:
        status.state = "inputs drifted"
        paths = ", ".join(d["path"] for d in drifted[:3]) + (f" and {len(drifted) - 3} more" if len(drifted) > 3 else "")
        status.message = (f"{len(drifted)} input{'s' if len(drifted) != 1 else ''} changed since the lock: {paths}"
                          " (a replay uses the snapshots; --against-current uses the current data)")
    elif not same_file:
        status.state = "metadata changed"
        status.fields = (_changed_fields(recorded_parts, parts) if recorded_parts is not None
                         else ["metadata or markdown"])[:_MAX_NAMED]
        status.message = "same code, notebook changed only in " + (", ".join(status.fields) or "formatting")
    if drifted and status.state != "inputs drifted":
        status.message += f"; {len(drifted)} input{'s' if len(drifted) != 1 else ''} changed since the lock"
    return status
