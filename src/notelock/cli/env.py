"""``notelock env LOCK --requirements | --uv``: the recorded environment, as installer input."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core import envspec
from ..core.errors import LockFileError, UsageError
from ..core.history import resolve_lock_spec
from ..core.lockfile import atomic_write_bytes

DESCRIPTION = """\
Print (or write with -o) what rebuilds the environment a lock recorded:
--requirements a pip requirements file, --uv a pyproject.toml for uv sync.
Both pin the exact version of every package the lock's environment section
lists (pip, setuptools and wheel left out), name the Python version, and give
an exclude-newer date (the day after the run) for resolvers that take one.

  notelock env fraud.lock.json --requirements -o requirements.txt
  python -m venv env && env/bin/pip install -r requirements.txt
  notelock env fraud.lock.json --uv -o pyproject.toml && uv sync

Exit status: 0 written, 2 bad usage or a lock that records no packages.
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``notelock env`` to the command tree."""
    p = sub.add_parser("env", help="the lock's environment as pinned requirements (pip or uv)",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("lock", metavar="LOCK", help="a .lock.json, the .ipynb it belongs to, or NB.ipynb~N")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--requirements", action="store_true", help="a pip requirements file (the default)")
    form.add_argument("--uv", action="store_true", help="a pyproject.toml with [tool.uv] exclude-newer")
    p.add_argument("--exclude", action="append", default=[], metavar="NAME",
                   help="leave a package out (e.g. one installed from a local checkout); repeatable")
    p.add_argument("-o", "--output", metavar="FILE", default=None, help="write to FILE instead of printing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print or write the pinned environment."""
    lock, name = resolve_lock_spec(args.lock)
    exclude = frozenset(n.lower() for n in args.exclude)
    try:
        text = envspec.uv_text(lock, exclude=exclude) if args.uv else envspec.requirements_text(lock, exclude=exclude)
    except LockFileError as err:
        raise LockFileError(f"{name}: {err}") from None
    if args.output is None:
        sys.stdout.write(text)
        return 0
    target = Path(args.output)
    if not target.absolute().parent.is_dir():
        raise UsageError(f"{target.parent}: no such folder")
    atomic_write_bytes(target, text.encode("utf-8"))
    print(f"wrote {target}: {len(envspec.pins(lock)) - len(exclude & set(envspec.pins(lock)))} pinned packages"
          + (f", python {envspec.python_version(lock)}" if envspec.python_version(lock) else ""))
    return 0
