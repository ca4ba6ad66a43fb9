"""``notelock store du [FOLDER]``: how much of each store each lock file accounts for."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.collect import find_locks, find_stores, usage
from ..core.errors import UsageError
from ..core.store import Store, format_size


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("store", help="inspect the content stores (.notelock/) under a folder",
                       description="Inspect notelock's content stores.")
    actions = p.add_subparsers(dest="store_command", metavar="ACTION")
    du = actions.add_parser("du", help="size per notebook lock: snapshots, history, cache",
                            description="Show, for every lock file under FOLDER, the bytes its snapshots, "
                                        "kept versions and cache entries take in its store.")
    du.add_argument("folder", nargs="?", default=".", help="where to look for lock files (default: .)")
    du.set_defaults(func=run_du)
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
    for root, locks in sorted(stores.items()):
        rows, other, total = usage(Store(root), locks)
        print(f"{_rel(root, folder)}  {format_size(total)}")
        print(f"  {'lock':<40} {'snapshots':>11} {'history':>11} {'cache':>11} {'entries':>7}")
        for row in rows:
            print(f"  {_rel(row.lock, folder):<40} {format_size(row.snapshots):>11} "
                  f"{format_size(row.history):>11} {format_size(row.cache):>11} {row.entries:>7}")
        if other:
            print(f"  {'(no lock file references; notelock gc)':<40} {format_size(other):>11}")
    return 0


def _rel(path: Path, folder: Path) -> str:
    try:
        return str(Path(path).absolute().relative_to(folder.absolute()))
    except ValueError:
        return str(path)
