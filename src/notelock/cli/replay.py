"""``notelock replay LOCK``: prove that a lock file reproduces."""

from __future__ import annotations

import argparse
import json
import sys

from ..core.errors import NotelockError
from ..headless.replay import EventsReporter, Reporter, TextReporter, run_replay
from . import args as args_


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments shared by ``replay`` and ``verify``."""
    p.add_argument("lock", help="a .lock.json file, the .ipynb it belongs to, or NB.ipynb~N (an earlier version)")
    p.add_argument("--against-current", action="store_true",
                   help="replay on today's data instead of the recorded snapshots, to see what drift does downstream")
    p.add_argument("--timeout", type=args_.seconds, default=600, metavar="S", help="seconds each cell may run (default 600)")
    p.add_argument("--kernel", default=None, metavar="NAME", help="the Jupyter kernel to replay in (default python3)")
    p.add_argument("--json", action="store_true", help="print a machine-readable report")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay", help="re-run a lock's cells in a fresh kernel and verify every node",
        description="Re-run the computation a lock file recorded, from the lock alone, in a fresh kernel in the "
                    "lock's folder, and report per node: reproduced, reproduced within tolerance, not verified, "
                    "or DIVERGED. Inputs whose source changed are served from their snapshots. Exit code: 0 every "
                    "verifiable node reproduced (drifted inputs served from snapshots), 1 a divergence (with "
                    "--against-current, also drift), 2 unusable input (docs/replay.md, Exit codes).")
    add_run_arguments(p)
    p.add_argument("--events", action="store_true", help="print progress as JSON lines (for the server extension)")
    p.add_argument("--out", metavar="PATH", help="write the lock the replay recorded to PATH")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the replay and report; returns the exit code."""
    if args.events:
        reporter: Reporter = EventsReporter(sys.stdout)
    elif args.json:
        reporter = Reporter()
    else:
        reporter = TextReporter(sys.stdout)
    try:
        result = run_replay(args.lock, against_current=args.against_current, timeout=args.timeout,
                            kernel_name=args.kernel, out=args.out, reporter=reporter)
    except NotelockError as err:
        if args.events:
            reporter.message(f"error: {err}")
            print(json.dumps({"event": "done", "exit_code": err.exit_code, "summary": {"error": str(err)}}),
                  flush=True)
        elif args.json:
            print(json.dumps({"error": str(err), "exit_code": err.exit_code}))
        raise
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, default=str))
    return result.exit_code
