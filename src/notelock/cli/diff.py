"""``notelock diff A B``: what changed between two lock files, root causes first."""

from __future__ import annotations

import argparse
import json

from ..core.diff import diff_locks, render_text
from ..core.history import resolve_lock_spec


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diff", help="semantic diff of two lock files: workflow, environment, data, code, parameters, outputs",
        description="Compare two lock files and name the root causes (nodes whose own content changed) and "
                    "their consequences. A and B are lock files, notebooks (their lock), or NB.ipynb~N "
                    "(N versions back). Exit code: 0 identical computations, 1 differences, 2 unusable input.")
    p.add_argument("a", help="the earlier lock (X.lock.json, X.ipynb, X.ipynb~N)")
    p.add_argument("b", help="the later lock")
    p.add_argument("--json", action="store_true", help="print the diff as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the diff; exit 0 when the computations are identical, else 1."""
    a, a_name = resolve_lock_spec(args.a)
    b, b_name = resolve_lock_spec(args.b)
    diff = diff_locks(a, b)
    if args.json:
        print(json.dumps({"a": a_name, "b": b_name, "diff": diff}, indent=2, default=str))
    else:
        print(render_text(diff, a_name, b_name))
    return 0 if diff["identical"] else 1
