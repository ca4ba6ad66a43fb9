"""Copying what a lock pins from one store to another (``notelock store push|pull``).

What a lock pins is what :func:`~notelock.core.collect.lock_use` finds: the
snapshots of its reads (and of its kept versions), the objects of its kept
versions with their history lines, and the cache entries of its cells with
the objects they list. Objects are copied verified (the source's read checks
the hash; the target's write publishes atomically), and only when the target
lacks them, so a push or a pull interrupted half-way is simply run again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import history as _history
from .collect import lock_use
from .errors import StoreError
from .store import Store, short


@dataclass
class Transfer:
    """What one push or pull did."""

    copied: int = 0
    bytes: int = 0
    present: int = 0
    entries: int = 0
    versions: int = 0
    skipped_entries: list[str] = field(default_factory=list)


def copy_pinned(lock_path: Path, source: Store, target: Store) -> Transfer:
    """Copy every object, cache entry and kept version *lock_path* pins from
    *source* to *target*.

    A snapshot missing from *source* is an error naming it (the lock could not
    be replayed from *target* either); a cache entry whose objects are missing
    is left out (a miss, never a broken restore).
    """
    use = lock_use(source, lock_path)
    done = Transfer()
    missing = sorted(d for d in use.snapshots | use.history if not source.has(d))
    if missing:
        raise StoreError(f"{lock_path.name}: store object {short(missing[0])} is missing from "
                         f"{source.where}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    for digest in sorted(use.snapshots | use.history):
        _copy_object(digest, source, target, done)
    entries = {name: entry for name, _, entry in source.iter_entries() if name in use.cache_entries}
    for name, entry in sorted(entries.items()):
        objects = list(entry.get("objects", ()))
        if not all(source.has(d) for d in objects):
            done.skipped_entries.append(name)
            continue
        for digest in objects:
            _copy_object(digest, source, target, done)
        key, _, variant = name.partition("-")
        body = {k: v for k, v in entry.items() if k != "objects"}
        target.put_entry("xxh3_128:" + key, body, objects, variant or None)
        done.entries += 1
    source_key = _history.history_key(lock_path, source)
    target_key = _history.history_key(lock_path, target)
    have = {item["object"] for item in target.read_history(target_key)}
    for item in source.read_history(source_key):
        if item["object"] not in have:
            target.append_history(target_key, item)
            have.add(item["object"])
            done.versions += 1
    return done


def _copy_object(digest: str, source: Store, target: Store, done: Transfer) -> None:
    if target.has(digest):
        done.present += 1
        return
    stored = target.put_file(source.path(digest), expected=digest)
    if stored != digest:  # the source's object changed under us: never publish it
        raise StoreError(f"store object {short(digest)} changed while being copied from {source.where}")
    done.copied += 1
    done.bytes += source.size(digest)


__all__ = ["Transfer", "copy_pinned"]
