"""``notelock replay LOCK``: prove that a lock file reproduces."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from contextlib import ExitStack

from ..core.errors import NotelockError, UsageError
from ..core.history import resolve_lock_spec
from ..core.unpack import is_pack, unpack
from ..headless.replay import EventsReporter, Reporter, TextReporter, run_replay
from ..headless.venv import build_venv, venv_kernel
from . import args as args_


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments shared by ``replay`` and ``verify``."""
    p.add_argument("lock", help="a .lock.json file, the .ipynb it belongs to, NB.ipynb~N (an earlier version), "
                                "or a .nlpack (replayed from a temporary folder)")
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
    p.add_argument("--venv", metavar="DIR", default=None,
                   help="create a venv in DIR (or reuse it), pip install the lock's exact pins, replay in it")
    p.add_argument("--venv-inherit", action="store_true",
                   help="with --venv: let the venv see this environment's packages, so only pins that differ "
                        "are installed (no download when they are all here)")
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
        with ExitStack() as stack:
            spec, env_base = args.lock, None
            if is_pack(args.lock):
                spec, env_base = unpacked_lock(args.lock, stack)
            kernel, environment = args.kernel, None
            notes: tuple[str, ...] = ()
            if args.venv:
                if args.kernel:
                    raise UsageError("--venv and --kernel exclude each other (--venv makes its own kernel)")
                if not args.json and not args.events:
                    print(f"building the lock's environment in {args.venv}…", file=sys.stderr, flush=True)
                venv = build_venv(resolve_lock_spec(spec)[0], args.venv, inherit=args.venv_inherit)
                kernel = stack.enter_context(venv_kernel(venv))
                environment, notes = venv.differences, (venv.note(),)
            elif args.venv_inherit:
                raise UsageError("--venv-inherit needs --venv DIR")
            result = run_replay(spec, against_current=args.against_current, timeout=args.timeout,
                                kernel_name=kernel, out=args.out, reporter=reporter, env_base=env_base,
                                environment=environment, notes=notes)
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


def unpacked_lock(pack: str, stack: ExitStack) -> tuple[str, dict[str, str]]:
    """Unpack *pack* (verified) into a temporary folder removed after the replay;
    the replay uses the store unpacked there, whatever NOTELOCK_STORE says."""
    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="notelock-pack-"))
    result = unpack(pack, folder)
    env = {k: v for k, v in os.environ.items() if k != "NOTELOCK_STORE"}
    return str(result.lock_path), env
