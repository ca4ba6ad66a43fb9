"""What lock files keep alive in a store: disk usage and garbage collection.

A lock file references, in its store:

* its **snapshots** (``snapshot`` of its read nodes), and those of every
  kept version in its history;
* its **history**: the objects holding its replaced versions;
* its **cache entries**: the entries keyed by the identity of one of its
  ``@cell_`` nodes, and the objects they list.

``notelock gc FOLDER`` keeps exactly that for the lock files under FOLDER
and removes the rest of the stores it finds there. Objects younger than a
grace period are spared: a kernel may be writing them for a lock file it
has not written yet (a store write refreshes an existing object's mtime,
so reusing an old object counts as recent too).
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import history as _history
from .errors import StoreError
from .lockfile import LOCK_SUFFIX, load_lock
from .remote_store import RemoteStore
from .snapshots import snapshot_digests
from .store import DEFAULT_STORE_DIR, Store, store_for

#: objects younger than this are never collected (seconds)
DEFAULT_GRACE_S = 3600.0
#: on a shared remote store: what teammates' unmerged branches pin lives there too
REMOTE_GRACE_S = 7 * 24 * 3600.0


def find_locks(folder: str | os.PathLike[str]) -> list[Path]:
    """Lock files under *folder* (stores and hidden folders skipped)."""
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "node_modules")
        out.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(LOCK_SUFFIX))
    return out


def find_stores(folder: str | os.PathLike[str], locks: Iterable[Path],
                environ: dict[str, str] | None = None) -> dict[Store, list[Path]]:
    """Store → the lock files using it (local stores with no lock file under *folder* too).

    A remote store (``NOTELOCK_STORE=s3://…``) is found through the locks that use it.
    """
    stores: dict[Store, list[Path]] = {}
    for lock in locks:
        stores.setdefault(store_for(lock, environ), []).append(lock)
    for dirpath, dirnames, _ in os.walk(folder):
        if DEFAULT_STORE_DIR in dirnames:
            stores.setdefault(Store((Path(dirpath) / DEFAULT_STORE_DIR).absolute()), [])
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "node_modules"]
    return {store: locks for store, locks in stores.items()
            if locks or isinstance(store, RemoteStore) or (store.root / "objects").is_dir()}


def _lock_quietly(path: Path) -> dict[str, Any] | None:
    try:
        return load_lock(path)
    except Exception:  # noqa: BLE001 - a broken lock pins nothing new
        return None


def _version_lock(store: Store, digest: str) -> dict[str, Any] | None:
    try:
        data = json.loads(store.get_bytes(digest))
    except (StoreError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def cell_identities(lock: dict[str, Any]) -> set[str]:
    """Identities of a lock's ``@cell_`` nodes (the keys of its cache entries)."""
    return {n.get("key") or n["identity"] for n in lock.get("nodes", {}).values()
            if isinstance(n, dict) and n.get("op") == "cell" and isinstance(n.get("identity"), str)}


@dataclass
class LockUse:
    """The objects one lock file keeps alive in its store."""

    lock: Path
    snapshots: set[str] = field(default_factory=set)
    history: set[str] = field(default_factory=set)
    cache_entries: set[str] = field(default_factory=set)
    cache_objects: set[str] = field(default_factory=set)

    @property
    def objects(self) -> set[str]:
        return self.snapshots | self.history | self.cache_objects


def lock_use(store: Store, lock_path: Path, lock: dict[str, Any] | None = None,
             entries: dict[str, dict[str, Any]] | None = None) -> LockUse:
    """Everything *lock_path* references in *store* (see the module docstring)."""
    use = LockUse(lock_path)
    lock = lock if lock is not None else _lock_quietly(lock_path)
    if lock is not None:
        use.snapshots |= snapshot_digests(lock)
    for version in _history.history_versions(lock_path, store):
        use.history.add(version.object)
        old = _version_lock(store, version.object)
        if old is not None:
            use.snapshots |= snapshot_digests(old)
    if lock is not None:
        entries = entries if entries is not None else {k: e for k, _, e in store.iter_entries()}
        identities = cell_identities(lock)
        for name, entry in entries.items():
            if entry.get("identity") in identities:
                use.cache_entries.add(name)
                use.cache_objects |= set(entry.get("objects", ()))
    return use


def pinned_objects(store: Store, lock_paths: Iterable[Path],
                   extra_locks: Iterable[dict[str, Any]] = ()) -> set[str]:
    """Objects a size cap must never evict: snapshots and lock versions of these
    locks and of every lock file beside the store (its usual users)."""
    paths = {Path(p).absolute() for p in lock_paths}
    try:
        paths |= {p.absolute() for p in store.root.parent.glob("*" + LOCK_SUFFIX)}
    except OSError:
        pass
    pinned: set[str] = set()
    for path in paths:
        use = lock_use(store, path, entries={})
        pinned |= use.snapshots | use.history
    for lock in extra_locks:
        pinned |= snapshot_digests(lock)
    return pinned


@dataclass
class GcPlan:
    """What ``notelock gc`` would remove from one store."""

    store: Store
    locks: list[Path]
    objects: list[tuple[str, int]] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    histories: list[str] = field(default_factory=list)
    spared_recent: int = 0

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.objects)


def plan_gc(store: Store, locks: list[Path], grace_s: float = DEFAULT_GRACE_S) -> GcPlan:
    """Decide what to remove from *store*, given that *locks* are all the lock
    files that use it.

    On a remote store, which other machines write too, cache entries are
    spared while recent like objects, and no history is removed: a lock
    that is not here may live in another clone.
    """
    remote = isinstance(store, RemoteStore)
    plan = GcPlan(store, locks)
    cutoff = time.time() - grace_s
    listed = list(store.iter_entries())
    entries = {k: e for k, _, e in listed}
    keep: set[str] = set()
    keep_entries: set[str] = set()
    keep_histories: set[str] = set()
    for lock_path in locks:
        use = lock_use(store, lock_path, entries=entries)
        keep |= use.objects
        keep_entries |= use.cache_entries
        keep_histories.add(_history.history_key(lock_path, store))
    plan.entries = sorted(k for k, used, _ in listed
                          if k not in keep_entries and not (remote and used > cutoff))
    base = store.root.absolute().parent
    for key in store.history_keys():
        if key in keep_histories:
            continue
        lock = Path(urllib.parse.unquote(key))
        lock = lock if lock.is_absolute() else base / lock
        if remote or lock.exists():  # a lock outside the folder given: not ours to judge
            for item in store.read_history(key):
                keep.add(item["object"])
                old = _version_lock(store, item["object"])
                keep |= snapshot_digests(old or {})
            continue
        plan.histories.append(key)
    for info in store.iter_objects():
        if info.digest in keep:
            continue
        if info.mtime > cutoff:
            plan.spared_recent += 1
            continue
        plan.objects.append((info.digest, info.size))
    return plan


def apply_gc(plan: GcPlan) -> int:
    """Remove what *plan* lists; returns the bytes freed."""
    for key in plan.entries:
        plan.store.delete_entry(key)
    for key in plan.histories:
        plan.store.delete_history(key)
    freed = sum(plan.store.delete(digest) for digest, _ in plan.objects)
    plan.store.clean_tmp()
    return freed


@dataclass
class Usage:
    """Bytes one lock file accounts for in its store."""

    lock: Path
    snapshots: int
    history: int
    cache: int
    entries: int


def usage(store: Store, locks: list[Path]) -> tuple[list[Usage], int, int]:
    """Per-lock usage of *store*, the bytes no lock accounts for, and the total.

    An object shared by two locks counts for each of them; the total counts it once.
    """
    sizes = {info.digest: info.size for info in store.iter_objects()}
    entries = {k: e for k, _, e in store.iter_entries()}
    rows = []
    accounted: set[str] = set()
    for lock_path in locks:
        use = lock_use(store, lock_path, entries=entries)
        def total(digests: set[str]) -> int:
            return sum(sizes.get(d, 0) for d in digests)
        rows.append(Usage(lock_path, total(use.snapshots), total(use.history - use.snapshots),
                          total(use.cache_objects - use.snapshots - use.history), len(use.cache_entries)))
        accounted |= use.objects
    other = sum(size for d, size in sizes.items() if d not in accounted)
    return rows, other, sum(sizes.values())


__all__ = ["find_locks", "find_stores", "lock_use", "pinned_objects", "plan_gc", "apply_gc", "usage",
           "GcPlan", "Usage", "LockUse", "cell_identities", "DEFAULT_GRACE_S", "REMOTE_GRACE_S"]
