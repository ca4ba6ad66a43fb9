"""``notelock show LOCK``: a readable summary of a lock file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core.lockfile import load_lock, lock_path_for


def resolve_lock_argument(value: str) -> Path:
    """Accept a lock file or the notebook it belongs to."""
    path = Path(value)
    if path.suffix == ".ipynb":
        return lock_path_for(path)
    return path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("show", help="summarise a lock file: workflow, environment, nodes, edges",
                       description="Print a readable summary of a lock file (or of the lock of a notebook).")
    p.add_argument("lock", help="a .lock.json file, or the .ipynb it belongs to")
    p.add_argument("--json", action="store_true", help="print the validated lock as canonical JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core import canonical
    from ..core.render import lock_warnings, text_summary

    path = resolve_lock_argument(args.lock)
    lock = load_lock(path)
    if args.json:
        print(canonical.dumps(lock), end="")
        return 0
    print(text_summary(lock, path.name))
    for warning in lock_warnings(lock):
        print(f"  warning: {warning}")
    return 0


__all__ = ["register", "run", "resolve_lock_argument", "json"]
