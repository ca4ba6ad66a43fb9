"""``notelock log NB.ipynb``: the kept versions of a notebook's lock file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core import history
from ..core.errors import LockFileError
from ..core.store import store_for


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("log", help="list the kept versions of a lock file (newest first)",
                       description="List the current lock and every replaced version kept in the store: "
                                   "when, identity, git commit and what changed in one line. Compare two "
                                   "with `notelock diff NB.ipynb~1 NB.ipynb`.")
    p.add_argument("lock", help="a .lock.json file, or the .ipynb it belongs to")
    p.add_argument("--json", action="store_true", help="print the versions as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one line per version: spec, time, identity, commit, change."""
    path, number = history.split_spec(args.lock)
    if number:
        raise LockFileError(f"{args.lock}: give the notebook or lock file without ~N")
    given = Path(args.lock)
    rows = history.log_rows(path, store_for(path))
    if not rows and not given.exists():
        # like `notelock show`: a path that names nothing is unusable input
        raise LockFileError(f"{args.lock}: no such {'notebook' if given.suffix == '.ipynb' else 'lock file'}")
    if args.json:
        print(json.dumps([{k: v for k, v in r.items() if k not in ("lock", "number")} for r in rows], indent=2))
        return 0
    if not rows:
        print(f"{path.name}: no lock file and no kept versions")
        return 0
    width = max(28, *(len(r["spec"]) + 1 for r in rows))
    print(f"{'VERSION':<{width}} {'WHEN':<20} {'IDENTITY':<12} {'COMMIT':<10} CHANGE")
    for row in rows:
        ident = (row["identity"] or "").split(":", 1)[-1][:12] or "?"
        commit = (row["commit"] or "-")[:10]
        print(f"{row['spec']:<{width}} {row['when'] or '?':<20} {ident:<12} {commit:<10} {row['change']}")
    return 0
