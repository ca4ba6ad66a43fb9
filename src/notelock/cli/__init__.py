"""The ``notelock`` command line: one argparse tree, one module per command.

Each command module defines ``register(subparsers)`` which adds its parser
and sets ``func`` to a callable ``(args) -> int``. Exit codes are the same
everywhere: 0 ok, 1 a negative verdict (divergence, drift, differences),
2 bad usage or unusable input, always with a one-line error on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .._version import __version__
from ..core.errors import NotelockError
from ..core.secrets import redact_text

#: command modules, in the order ``notelock --help`` lists them
#: (a module not present in this build is skipped)
COMMAND_MODULES = (
    "lock", "status", "show", "replay", "verify", "check", "diff", "log", "bisect",
    "pack", "unpack", "env", "sign", "report", "store", "gc",
)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"notelock: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree (also used to document the CLI)."""
    parser = _Parser(prog="notelock", description="A lock file for the computation inside Jupyter notebooks.")
    parser.add_argument("--version", action="version", version=f"notelock {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except NotelockError as err:
        print(f"notelock: error: {redact_text(str(err))}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("notelock: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
