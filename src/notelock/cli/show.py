"""``notelock show LOCK``: a readable summary of a lock file."""

from __future__ import annotations

import argparse

from ..core import canonical
from ..core.history import resolve_lock_spec
from ..core.render import lock_warnings, text_summary


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("show", help="summarise a lock file: workflow, environment, nodes, edges",
                       description="Print a readable summary of a lock file (or of the lock of a notebook).")
    p.add_argument("lock", help="a .lock.json file, the .ipynb it belongs to, or NB.ipynb~N (an earlier version)")
    p.add_argument("--json", action="store_true", help="print the validated lock as canonical JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:

    lock, name = resolve_lock_spec(args.lock)
    if args.json:
        print(canonical.dumps(lock), end="")
        return 0
    print(text_summary(lock, name))
    for warning in lock_warnings(lock):
        print(f"  warning: {warning}")
    return 0


__all__ = ["register", "run"]
