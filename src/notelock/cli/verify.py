"""``notelock verify LOCK --runs N``: which nodes are stable run to run."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path

from ..core.errors import UsageError
from ..core.history import resolve_lock_source
from ..core.replay import stability
from ..core.unpack import is_pack
from ..headless.replay import Reporter, run_replay
from . import args as args_
from .replay import add_run_arguments, unpacked_lock


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify", help="replay a lock several times and check its determinism contracts",
        description="Replay a lock N times and report, per node, whether its result was the same in every run "
                    "and whether the declared contract (deterministic unless declared otherwise) holds. "
                    "Exit code: 0 every contract holds, 1 one does not, 2 unusable input.")
    add_run_arguments(p)
    p.add_argument("--runs", type=args_.count(1, 100), default=2, metavar="N", help="how many replays (default 2)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Replay ``--runs`` times, then print the stability table."""
    if args.runs < 1:
        raise UsageError("--runs must be at least 1")
    with ExitStack() as stack:
        spec, env_base = args.lock, None
        if is_pack(args.lock):  # replayed from a temporary folder, as replay does
            spec, env_base = unpacked_lock(args.lock, stack)
        recorded, _path, name = resolve_lock_source(spec)
        if spec != args.lock:
            name = f"{Path(args.lock).name}:{name}"
        runs = []
        for i in range(args.runs):
            if not args.json:
                print(f"run {i + 1}/{args.runs}…", file=sys.stderr, flush=True)
            result = run_replay(spec, against_current=args.against_current, timeout=args.timeout,
                                kernel_name=args.kernel, reporter=Reporter(), env_base=env_base)
            runs.append(result.verdicts)
    table = stability(recorded, runs)
    code = 0 if all(row["holds"] for row in table) else 1
    if args.json:
        print(json.dumps({"lock": name, "runs": args.runs, "nodes": table, "exit_code": code}, indent=2))
        return code
    print(f"{name}: {args.runs} replays")
    for row in table:
        state = "stable" if row["stable"] else "UNSTABLE"
        if row["stable"] and not row["matches_recorded"]:
            state += " (differs from the lock)"
        verdict = "holds" if row["holds"] else "VIOLATED"
        note = " (declared nondeterministic, but stable)" if row["declared"] == "none" and row["stable"] else ""
        print(f"  {state:<28} {row['declared']:<9} contract {verdict:<8} {row['id']}  {row['label']}{note}")
    print("every declared contract holds" if code == 0 else "a declared contract does not hold")
    return code
