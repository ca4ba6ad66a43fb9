"""``notelock store du|push|pull``: the content stores and what locks keep in them."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core import protocol
from ..core.collect import find_locks, find_stores, usage
from ..core.errors import UsageError
from ..core.history import split_spec
from ..core.lockfile import load_lock
from ..core.store import Store, format_size, is_url, open_store, store_for
from ..core.transfer import copy_pinned


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("store", help="inspect the content stores; push and pull what a lock pins",
                       description="Inspect notelock's content stores, and copy what a lock pins between "
                                   "its local store and a shared (remote) one.")
    actions = p.add_subparsers(dest="store_command", metavar="ACTION")
    du = actions.add_parser("du", help="size per notebook lock: snapshots, history, cache",
                            description="Show, for every lock file under FOLDER, the bytes its snapshots, "
                                        "kept versions and cache entries take in its store.")
    du.add_argument("folder", nargs="?", default=".", help="where to look for lock files (default: .)")
    du.set_defaults(func=run_du)
    for name, verb in (("push", "to"), ("pull", "from")):
        t = actions.add_parser(
            name, help=f"copy what a lock pins {verb} a shared store",
            description=f"Copy the snapshots, kept versions and cache entries LOCK pins {verb} the shared "
                        f"store (--{verb} URL, else NOTELOCK_STORE) {'from' if name == 'push' else 'to'} "
                        "the local store beside the lock (.notelock/). Objects the target has are not "
                        "copied again; an interrupted copy is completed by running it again.")
        t.add_argument("lock", help="the lock file (or its notebook)")
        t.add_argument(f"--{verb}", dest="remote", metavar="URL",
                       help="the shared store (default: NOTELOCK_STORE)")
        t.set_defaults(func=run_transfer, direction=name)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_du(args: argparse.Namespace) -> int:
    """Print one row per lock file and one total per store."""
    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    stores = find_stores(folder, find_locks(folder))
    if not stores:
        print(f"no notelock store under {folder}")
        return 0
    for store, locks in sorted(stores.items(), key=lambda item: item[0].spec):
        rows, other, total = usage(store, locks)
        print(f"{_rel(store, folder)}  {format_size(total)}")
        print(f"  {'lock':<40} {'snapshots':>11} {'history':>11} {'cache':>11} {'entries':>7}")
        for row in rows:
            print(f"  {_rel(row.lock, folder):<40} {format_size(row.snapshots):>11} "
                  f"{format_size(row.history):>11} {format_size(row.cache):>11} {row.entries:>7}")
        if other:
            print(f"  {'(no lock file references; notelock gc)':<40} {format_size(other):>11}")
    return 0


def run_transfer(args: argparse.Namespace) -> int:
    """Copy what a lock pins between its local store and the shared one."""
    lock_path, number = split_spec(args.lock)
    if number:
        raise UsageError(f"{args.lock}: push and pull take a lock file, not a kept version")
    lock_path = lock_path.absolute()
    load_lock(lock_path)  # a missing or broken lock is refused before any transfer
    remote_spec = args.remote or protocol.setting("NOTELOCK_STORE")
    if not remote_spec:
        raise UsageError(f"store {args.direction}: name the shared store with "
                         f"--{'to' if args.direction == 'push' else 'from'} URL or NOTELOCK_STORE")
    remote = open_store(remote_spec, lock_path.parent)
    configured = protocol.setting("NOTELOCK_STORE") or ""
    # the local store: NOTELOCK_STORE when it names a folder, else .notelock/ beside the lock
    local = store_for(lock_path, {} if is_url(configured) else None)
    if remote == local:
        raise UsageError(f"store {args.direction}: the shared store is the local store "
                         f"{local.where}; nothing to copy")
    source, target = (local, remote) if args.direction == "push" else (remote, local)
    done = copy_pinned(lock_path, source, target)
    verb = "pushed" if args.direction == "push" else "pulled"
    line = (f"{verb} {done.copied} objects ({format_size(done.bytes)}), {done.entries} cache entries, "
            f"{done.versions} kept versions of {lock_path.name} "
            f"{'to' if args.direction == 'push' else 'from'} {remote.where}")
    if done.present:
        line += f"; {done.present} objects already there"
    print(line)
    if done.skipped_entries:
        print(f"left out {len(done.skipped_entries)} cache entries whose objects are missing from "
              f"{source.where}")
    return 0


def _rel(path: Path | Store, folder: Path) -> str:
    if isinstance(path, Store):
        if not path.spec.startswith("/"):
            return path.where
        path = path.root
    try:
        return str(Path(path).absolute().relative_to(folder.absolute()))
    except ValueError:
        return str(path)

