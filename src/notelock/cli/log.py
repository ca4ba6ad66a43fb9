"""``notelock log NB.ipynb``: the kept versions of a notebook's lock file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core import history
from ..core.errors import LockFileError
from ..core.lockfile import load_lock, loads_lock
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
    store = store_for(path)
    current = load_lock(path) if Path(path).exists() else None
    versions = history.history_versions(path, store)
    rows = []
    if current is not None:
        rows.append({"spec": path.name, "when": (current.get("run") or {}).get("updated"),
                     "identity": current["identity"],
                     "commit": ((current.get("workflow") or {}).get("git") or {}).get("commit"),
                     "lock": current})
    for version in versions:
        try:
            lock = loads_lock(store.get_bytes(version.object), f"{path.name}~{version.number}")
        except Exception as err:  # noqa: BLE001 - a damaged version is listed, not fatal
            lock = None
            note = str(err)
        rows.append({"spec": f"{path.name}~{version.number}", "when": version.updated or version.replaced,
                     "identity": version.identity, "commit": version.commit, "lock": lock,
                     **({"note": note} if lock is None else {})})
    for i, row in enumerate(rows):
        older = rows[i + 1]["lock"] if i + 1 < len(rows) else None
        if row.get("note"):
            row["change"] = row["note"]
        elif row["lock"] is not None:
            row["change"] = history.change_summary(older, row["lock"])
        else:
            row["change"] = ""
    if args.json:
        print(json.dumps([{k: v for k, v in r.items() if k != "lock"} for r in rows], indent=2))
        return 0
    if not rows:
        print(f"{path.name}: no lock file and no kept versions")
        return 0
    for row in rows:
        ident = (row["identity"] or "").split(":", 1)[-1][:12] or "?"
        commit = (row["commit"] or "-")[:10]
        print(f"{row['spec']:<28} {row['when'] or '?':<20} {ident:<12} {commit:<10} {row['change']}")
    return 0
