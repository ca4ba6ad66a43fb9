"""Lock history: every replaced version of a lock file, kept in the store.

When a lock file is about to be replaced, :func:`keep_version` stores the
old bytes as an object and appends one line to ``history/<key>.jsonl`` in
the store (``key`` is the lock's path relative to the store's folder, so two
notebooks sharing a store keep separate histories). The line holds what
``notelock log`` shows without opening the object: when it was replaced,
the lock identity, the git commit.

A kernel rewrites its lock after every locked cell. Those rewrites only
append to what the same session wrote before (cells and nodes are never
dropped), so a version written by the *same* session that now replaces it
is superseded, not lost, and is not kept: one version per session, which is
what ``NB.ipynb~1`` (the lock before the last run) means to a user.

Specs (``resolve_lock_spec``): ``X.lock.json`` or ``X.ipynb`` is the
current lock; ``X.lock.json~N`` / ``X.ipynb~N`` is the N-th version before
it (``~1`` the previous one).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import lockfile
from .errors import LockFileError, StoreError
from .store import Store, store_for

_SPEC = re.compile(r"^(?P<path>.+?)~(?P<n>\d+)$")


@dataclass(frozen=True)
class Version:
    """One kept version of a lock file (``number`` 1 is the newest replaced one)."""

    number: int
    object: str
    replaced: str
    identity: str | None
    commit: str | None
    started: str | None
    updated: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "object": self.object, "replaced": self.replaced,
                "identity": self.identity, "commit": self.commit, "started": self.started,
                "updated": self.updated}


def history_key(lock_path: str | os.PathLike[str], store: Store) -> str:
    """The name of a lock's history in *store*: its path relative to the
    store's folder when inside it (so a moved project keeps its history; for
    a remote store, relative to the lock's git work tree, so every clone
    agrees), else its absolute path, percent-encoded."""
    lock = Path(lock_path).absolute()
    base = store.key_base(lock)
    try:
        rel = lock.relative_to(base).as_posix()
    except ValueError:
        rel = lock.as_posix()
    return urllib.parse.quote(rel, safe="")


def _facts(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    run: dict[str, Any] = data["run"] if isinstance(data.get("run"), dict) else {}
    git = ((data.get("workflow") or {}).get("git") or {}) if isinstance(data.get("workflow"), dict) else {}
    return {"identity": data.get("identity"), "commit": git.get("commit") if isinstance(git, dict) else None,
            "started": run.get("started"), "updated": run.get("updated"), "session": run.get("session")}


def keep_version(lock_path: str | os.PathLike[str], old: bytes, *, store: Store | None = None,
                 session: str | None = None) -> str | None:
    """Keep *old* (the bytes of a lock file about to be replaced) in the store.

    Returns the object's digest, or None when the version was not kept
    because the session now writing (*session*, its unique id) wrote it itself
    and is only extending it. Two kernels writing one lock never replace each
    other's versions without keeping them. Called under the lock file's file
    lock, so appends to one history never interleave.
    """
    lock_path = Path(lock_path)
    # the common case, a session extending what it wrote itself, is found
    # without parsing the old lock (its cost would grow with the session)
    if session is not None and f'"session": {json.dumps(session)}'.encode() in old:
        return None
    store = store or store_for(lock_path)
    facts = _facts(old)
    if session is not None and facts.get("session") == session:
        return None
    digest = store.put_bytes(old)
    key = history_key(lock_path, store)
    versions = store.read_history(key)
    if versions and versions[-1].get("object") == digest:
        return digest
    store.append_history(key, {"object": digest, "replaced": _now(), **facts})
    return digest


def history_versions(lock_path: str | os.PathLike[str], store: Store | None = None) -> list[Version]:
    """Kept versions of a lock file, newest first (``number`` 1 = the previous lock)."""
    lock_path = Path(lock_path)
    store = store or store_for(lock_path)
    items = store.read_history(history_key(lock_path, store))
    out = []
    for n, item in enumerate(reversed(items), start=1):
        out.append(Version(number=n, object=item["object"], replaced=str(item.get("replaced", "")),
                           identity=item.get("identity"), commit=item.get("commit"),
                           started=item.get("started"), updated=item.get("updated")))
    return out


def referenced_objects(lock_path: str | os.PathLike[str], store: Store | None = None) -> set[str]:
    """Digests of the kept versions of a lock (what its history pins)."""
    return {v.object for v in history_versions(lock_path, store)}


def load_version(lock_path: str | os.PathLike[str], number: int, store: Store | None = None) -> dict[str, Any]:
    """The lock as it was *number* versions ago (0 = the current file)."""
    lock_path = Path(lock_path)
    if number == 0:
        return lockfile.load_lock(lock_path)
    store = store or store_for(lock_path)
    versions = history_versions(lock_path, store)
    if number > len(versions):
        have = f"only {len(versions)} kept" if versions else "none kept"
        raise LockFileError(f"{lock_path.name}~{number}: no such version ({have}; see notelock log)")
    version = versions[number - 1]
    try:
        raw = store.get_bytes(version.object)
    except StoreError as err:
        raise LockFileError(f"{lock_path.name}~{number}: {err}") from None
    return lockfile.loads_lock(raw, f"{lock_path.name}~{number}")


def split_spec(spec: str) -> tuple[Path, int]:
    """``"fraud.ipynb~2"`` → (``fraud.lock.json``, 2); ``"x.lock.json"`` → (``x.lock.json``, 0)."""
    match = _SPEC.match(spec)
    path, number = (match.group("path"), int(match.group("n"))) if match else (spec, 0)
    p = Path(path)
    if p.suffix == ".ipynb":
        p = lockfile.lock_path_for(p)
    return p, number


def resolve_lock_source(spec: str, base: str | os.PathLike[str] | None = None) -> tuple[dict[str, Any], Path, str]:
    """The one resolver every face uses: ``X.lock.json``, ``X.ipynb``,
    ``X.ipynb~N`` or ``X.lock.json~N`` (``~N``: N versions before the current one),
    relative to *base* when given.

    Returns the lock, the lock file it belongs to (absolute: its folder and
    store are the replay's), and its display name.
    """
    path, number = split_spec(spec)
    path = path.expanduser()
    if base is not None and not path.is_absolute():
        path = Path(base) / path
    lock = load_version(path, number)
    return lock, path.absolute(), path.name + (f"~{number}" if number else "")


def resolve_lock_spec(spec: str, base: str | os.PathLike[str] | None = None) -> tuple[dict[str, Any], str]:
    """A lock and its display name (see :func:`resolve_lock_source`)."""
    lock, _path, name = resolve_lock_source(spec, base)
    return lock, name


def change_summary(old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    """One line saying what changed from *old* to *new* (e.g. ``2 nodes new, read
    transactions.csv: content changed``)."""
    if old is None:
        return "first kept version"
    if old.get("identity") == new.get("identity"):
        return "same computation"
    old_nodes, new_nodes = old.get("nodes", {}), new.get("nodes", {})
    added = [n for n in new_nodes if n not in old_nodes]
    removed = [n for n in old_nodes if n not in new_nodes]
    parts = []
    old_reads = {_read_key(n): n for n in old_nodes.values() if n.get("op") == "read"}
    for node in new_nodes.values():
        if node.get("op") != "read":
            continue
        before = old_reads.get(_read_key(node))
        if before is None:
            continue
        what = [f for f in ("content", "schema", "rows") if before.get(f) != node.get(f)]
        if what:
            parts.append(f"read {_read_key(node)}: {', '.join(what)} changed")
    code_changed = sum(1 for n in added if new_nodes[n].get("op") == "cell"
                       and not any(o.get("op") == "cell" and o.get("code") == new_nodes[n].get("code")
                                   for o in old_nodes.values()))
    if code_changed:
        parts.append(f"{code_changed} cell{'s' if code_changed != 1 else ''} with new code")
    if added or removed:
        parts.append(f"{len(added)} node{'s' if len(added) != 1 else ''} new, {len(removed)} gone")
    if not parts:
        parts.append("same nodes, different order or repeats")
    return "; ".join(parts[:4]) + ("; …" if len(parts) > 4 else "")


def log_rows(lock_path: str | os.PathLike[str], store: Store | None = None) -> list[dict[str, Any]]:
    """What ``notelock log`` lists, newest first: the current lock (``number`` 0)
    and every kept version, each with ``spec`` (``NB.lock.json~N``), ``when``,
    ``identity``, ``commit`` and ``change`` (what changed from the one before;
    for a damaged version, why it does not load), and ``lock`` (``None`` when
    damaged)."""
    path = Path(lock_path)
    store = store or store_for(path)
    rows: list[dict[str, Any]] = []
    if path.exists():
        current = lockfile.load_lock(path)
        rows.append({"spec": path.name, "number": 0, "when": (current.get("run") or {}).get("updated"),
                     "identity": current["identity"],
                     "commit": ((current.get("workflow") or {}).get("git") or {}).get("commit"), "lock": current})
    for version in history_versions(path, store):
        note = None
        try:
            lock: dict[str, Any] | None = lockfile.loads_lock(store.get_bytes(version.object),
                                                              f"{path.name}~{version.number}")
        except Exception as err:  # noqa: BLE001 - a damaged version is listed, not fatal
            lock, note = None, str(err)
        rows.append({"spec": f"{path.name}~{version.number}", "number": version.number,
                     "when": version.updated or version.replaced, "identity": version.identity,
                     "commit": version.commit, "lock": lock, **({"note": note} if note else {})})
    for i, row in enumerate(rows):
        older = rows[i + 1]["lock"] if i + 1 < len(rows) else None
        if row.get("note"):
            row["change"] = row.pop("note")
        elif row["lock"] is not None:
            row["change"] = change_summary(older, row["lock"])
        else:
            row["change"] = ""
    return rows


def _read_key(node: dict[str, Any]) -> str:
    return str(node.get("path") or node.get("query") or node.get("url") or node.get("reader"))


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


__all__ = ["Version", "keep_version", "history_versions", "load_version", "resolve_lock_spec",
           "split_spec", "change_summary", "referenced_objects", "history_key", "log_rows"]
