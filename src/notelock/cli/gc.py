"""``notelock gc FOLDER [--yes]``: remove store objects no lock file under FOLDER references."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.collect import DEFAULT_GRACE_S, REMOTE_GRACE_S, apply_gc, find_locks, find_stores, plan_gc
from ..core.errors import UsageError
from ..core.lockfile import stale_temporaries
from ..core.remote_store import RemoteStore
from ..core.store import format_size
from . import args as args_


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gc", help="remove store objects no lock file under a folder references",
                       description="Find the content stores used by the lock files under FOLDER and "
                                   "remove what none of them references: objects, cache entries of "
                                   "cells no lock records, histories of deleted lock files. Snapshots "
                                   "and kept versions of the locks are never removed. Dry run unless "
                                   "--yes is given.")
    p.add_argument("folder", help="the folder holding the notebooks and their lock files")
    p.add_argument("--yes", action="store_true", help="delete (without it, only show what would go)")
    p.add_argument("--min-age", type=args_.age, default=None, metavar="SECONDS",
                   help="spare objects younger than this (default 3600: a running kernel may be "
                        "writing them; 604800, a week, on a shared remote store)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Plan, print and (with --yes) apply the collection."""
    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    if args.min_age is not None and not args.min_age >= 0:
        raise UsageError(f"--min-age must be a number of seconds ≥ 0, got {args.min_age}")
    grace = DEFAULT_GRACE_S if args.min_age is None else args.min_age
    locks = find_locks(folder)
    verb = "removed" if args.yes else "would remove"
    # what killed builds and writes left beside the locks
    leftovers = [p for d in sorted({folder, *(lock.parent for lock in locks)}) for p in stale_temporaries(d)]
    if leftovers:
        size = sum(p.stat().st_size for p in leftovers if p.exists())
        if args.yes:
            for path in leftovers:
                path.unlink(missing_ok=True)
        print(f"{verb} {len(leftovers)} temporary files left by interrupted builds ({format_size(size)})")
    stores = find_stores(folder, locks)
    if not stores:
        print(f"no notelock store under {folder}")
        return 0
    for store, locks in sorted(stores.items(), key=lambda item: item[0].spec):
        # a shared store holds what teammates' unmerged work pins: spare a week by default
        spare = grace if args.min_age is not None or not isinstance(store, RemoteStore) else REMOTE_GRACE_S
        plan = plan_gc(store, locks, spare)
        freed = apply_gc(plan) if args.yes else plan.bytes
        names = ", ".join(p.name for p in locks) or "no lock file"
        print(f"{store.where}: kept for {names}; {verb} {len(plan.objects)} objects ({format_size(freed)}), "
              f"{len(plan.entries)} cache entries, {len(plan.histories)} histories of deleted locks"
              + (f"; {plan.spared_recent} recent objects spared" if plan.spared_recent else ""))
    if not args.yes:
        print("dry run: nothing deleted (add --yes to delete)")
    return 0
