"""The offline integrity check of a lock (``notelock check``): nothing runs.

Each check gives one line. What makes the lock unusable (it does not parse
or validate, a node's id is not the hash of its content, an edge points to
a node that does not exist, a pinned object is missing or corrupted) counts
2; what is a negative verdict on a usable lock (the notebook beside it has
changed since, the signature does not verify, a signature required and
absent) counts 1. The exit code is the highest count.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import signing
from .errors import LockFileError, NotelockError
from .hashing import hash_file
from .lockfile import IDENTITY_KEYS, LOCK_SUFFIX, MAX_LOCK_BYTES, NODE_ID_RE, node_id, node_identity, validate_lock
from .store import Store, short, store_for
from .workflow import WorkflowTracker


@dataclass
class Finding:
    """One line of the check: *code* 0 passed, 1 negative verdict, 2 unusable."""

    code: int
    text: str
    what: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.what, "code": self.code, "ok": self.code == 0, "text": self.text}


@dataclass
class CheckReport:
    """Every finding of one check, in order."""

    lock: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return max((f.code for f in self.findings), default=0)

    def add(self, code: int, what: str, text: str) -> None:
        self.findings.append(Finding(code, text, what))

    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.code]

    def as_dict(self) -> dict[str, Any]:
        return {"lock": self.lock, "exit_code": self.exit_code, "findings": [f.as_dict() for f in self.findings]}


def _read(path: Path) -> tuple[bytes, Any]:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise LockFileError(f"{path}: no such lock file") from None
    except OSError as err:
        raise LockFileError(f"{path}: cannot read: {err.strerror or err}") from None
    if not path.is_file():
        raise LockFileError(f"{path}: not a regular file")
    if size > MAX_LOCK_BYTES:
        raise LockFileError(f"{path.name}: {size:,} bytes, larger than a lock file can be")
    raw = path.read_bytes()
    try:
        return raw, json.loads(raw)
    except (ValueError, RecursionError):
        raise LockFileError(f"{path.name}: not valid JSON (not a lock file, or truncated)") from None


def structure(data: Any, report: CheckReport) -> bool:
    """Every node id against its content and every edge against the nodes: one
    finding per problem (not only the first). True if none was found."""
    nodes = data.get("nodes") if isinstance(data, dict) else None
    if not isinstance(nodes, dict):
        return True  # the validator names what is missing
    clean = True
    for nid, node in nodes.items():
        if not isinstance(node, dict) or not isinstance(node.get("identity"), str):
            continue
        op = node.get("op")
        match = NODE_ID_RE.match(str(nid))
        try:
            computed = node_identity(node)
        except Exception:  # noqa: BLE001 - malformed content: the validator says what
            continue
        if match is None or match.group(1) != op or node_id(str(op), node["identity"]) != nid:
            report.add(2, "node ids", f"node {nid}: its id is not the one its identity gives (edited by hand?)")
            clean = False
        elif computed != node["identity"]:
            covered = ", ".join(IDENTITY_KEYS.get(str(op), ()))
            report.add(2, "node ids", f"node {nid}: its id does not match its content (one of {covered} "
                                      f"changed; edited by hand?)")
            clean = False
        for key, what in (("inputs", "an input"), ("nodes", "a node")):
            for other in node.get(key) or ():
                if isinstance(other, str) and other not in nodes:
                    report.add(2, "edges", f"node {nid}: edge to {other}, which is not in the lock ({what} "
                                           "that does not exist)")
                    clean = False
    return clean


def pinned_objects(lock: dict[str, Any], store: Store, report: CheckReport) -> None:
    """Every snapshot the lock pins is in *store* and re-hashes to its name (the
    store is only read: a corrupted object is reported, not moved)."""
    count = 0
    for nid, node in lock.get("nodes", {}).items():
        digest = node.get("snapshot") if isinstance(node, dict) else None
        if not isinstance(digest, str):
            continue
        count += 1
        label = node.get("path") or node.get("url") or (node.get("query") and "SQL result") or "read"
        try:
            path = store.object_path(digest)
        except NotelockError:
            report.add(2, "objects", f"node {nid}: snapshot {digest[:40]!r} is not an object name")
            continue
        if not path.is_file():
            report.add(2, "objects", f"object {short(digest)} (snapshot of {nid} {label}) is missing from "
                                     f"{store.root}")
        elif hash_file(path) != digest:
            report.add(2, "objects", f"object {short(digest)} (snapshot of {nid} {label}) is corrupted: its "
                                     "content no longer hashes to its name")
    if count and not any(f.what == "objects" for f in report.problems()):
        report.add(0, "objects", f"{count} pinned object{'s' if count != 1 else ''} present and intact")
    elif not count:
        report.add(0, "objects", "no pinned objects (recorded without --snapshot)")


def find_notebook(lock: dict[str, Any], lock_path: Path) -> Path | None:
    """The notebook beside a lock: the one its workflow names, else ``X.ipynb`` for ``X.lock.json``."""
    recorded = (lock.get("workflow") or {}).get("notebook")
    candidates = []
    if isinstance(recorded, str) and recorded:
        candidates.append(lock_path.parent / recorded)
    if lock_path.name.endswith(LOCK_SUFFIX):
        candidates.append(lock_path.with_name(lock_path.name[: -len(LOCK_SUFFIX)] + ".ipynb"))
    return next((p for p in candidates if p.is_file()), None)


def notebook(lock: dict[str, Any], lock_path: Path, report: CheckReport) -> None:
    """The notebook beside the lock still has the checksum the lock recorded."""
    recorded = (lock.get("workflow") or {}).get("checksum")
    path = find_notebook(lock, lock_path)
    if path is None:
        report.add(0, "notebook", "no notebook beside the lock: not compared")
        return
    current = WorkflowTracker(path).snapshot(None).get("checksum")
    if recorded is None:
        report.add(0, "notebook", f"{path.name}: the lock records no checksum: not compared")
    elif current != recorded:
        report.add(1, "notebook", f"{path.name} changed since the lock was written (checksum {recorded[:12]} "
                                  f"recorded, {str(current)[:12]} now)")
    else:
        report.add(0, "notebook", f"{path.name} unchanged (checksum {recorded[:12]})")


def check_lock(lock_path: str | os.PathLike[str], *, store: Store | None = None, key: str | None = None,
               require_signature: bool = False, name: str | None = None) -> CheckReport:
    """Check the lock at *lock_path* without running anything; see the module docstring.

    *key* is the public key the signature must verify with (a path); without
    it, a signature is verified with the key it carries, and the report says
    whose. Raises :class:`LockFileError` only when the file is not JSON at all.
    """
    path = Path(lock_path)
    raw, data = _read(path)
    report = CheckReport(lock=name or path.name)
    clean = structure(data, report)
    lock: dict[str, Any] | None = None
    if clean:
        try:
            lock = validate_lock(data, path.name)
        except LockFileError as err:
            report.add(2, "validation", str(err))
    if lock is None:
        if clean is False:
            report.add(2, "validation", f"{path.name}: does not validate (see above)")
        return report
    report.add(0, "validation", f"lock validates: {len(lock['nodes'])} nodes, every id the hash of its "
                                f"content, identity {lock['identity'][9:21]}")
    pinned_objects(lock, store or store_for(path), report)
    notebook(lock, path, report)
    signing.check_signature(lock, path, report.add, key=key, required=require_signature)
    return report


__all__ = ["check_lock", "CheckReport", "Finding", "structure", "find_notebook"]
