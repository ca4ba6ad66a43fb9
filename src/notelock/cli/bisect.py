"""``notelock bisect NB.ipynb --var NAME | --node ID [--git GOOD..BAD [--run]]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..core.bisect import bisect, git_candidates, git_root, history_candidates
from ..core.errors import UsageError
from ..core.lockfile import lock_path_for
from ..headless.gitrun import builder

DESCRIPTION = """\
Find the first run in which a node's result (or a variable's value) changed,
and why, without re-executing anything: the locks already hold the
identities. The runs are the lock's kept history in the store (NB.ipynb~N …
the current lock), or with --git GOOD..BAD the lock as committed at GOOD and
each later commit up to BAD. Prints the first changed version (commit) and
the root causes the diff finds there.

With --run, commits where the lock was not committed are built: the commit is
checked out in a temporary git worktree and the notebook run in a fresh
kernel (like git bisect run); the report names the commits built.

Exit status: 0 the first change was found; 1 the value is the same in every
version; 2 bad usage or unusable input (no such node, a version without lock).
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``notelock bisect`` to the command tree."""
    p = sub.add_parser("bisect", help="the first run in which a node's result changed, and its root causes",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebook", metavar="NB.ipynb|LOCK", help="the notebook (or its lock) whose runs to search")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--node", metavar="ID", help="a node id of the newest version, e.g. @predict_1f560ec59c4a")
    what.add_argument("--var", metavar="NAME", help="a variable a locked cell wrote, e.g. pred")
    p.add_argument("--git", metavar="GOOD..BAD", help="search the commits of this range instead of the store")
    p.add_argument("--run", action="store_true", help="with --git: build the lock at commits that have none")
    p.add_argument("--json", action="store_true", help="print a machine-readable report")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Bisect and report."""
    path = Path(args.notebook)
    lock_path = lock_path_for(path) if path.suffix == ".ipynb" else path
    built: list[str] = []
    if args.git:
        make = None
        if args.run:
            notebook = path if path.suffix == ".ipynb" else path.with_name(path.name[: -len(".lock.json")] + ".ipynb")
            root = git_root(notebook.absolute())
            make = builder(root, notebook.absolute().relative_to(root).as_posix(), built=built,
                           log=None if args.json else (lambda s: print(s, file=sys.stderr, flush=True)))
        candidates = git_candidates(lock_path, args.git, make)
    else:
        if args.run:
            raise UsageError("--run needs --git GOOD..BAD (store versions always have their lock)")
        candidates = history_candidates(lock_path)
    result = bisect(candidates, node=args.node, variable=args.var)
    result.built = built
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return result.exit_code
    print(f"{result.target}: {result.versions} versions, probed {', '.join(result.probed)}")
    if built:
        print(f"built (no lock committed there): {', '.join(built)}")
    if result.first is None:
        print(f"the value is the same in every version ({str(result.before)[9:21]})")
        return 1
    print(f"first changed: {result.first.label}  {result.first.detail}".rstrip())
    print(f"  last unchanged: {result.last_good.label if result.last_good else '-'}; value "
          f"{str(result.before)[9:21]} → {str(result.after)[9:21]}")
    for cause in result.root_causes:
        print(f"  ROOT CAUSE {cause['id']}  {cause['label']}: {'; '.join(cause['reasons'])}")
    return 0
