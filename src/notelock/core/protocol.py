"""The contract between notelock's parts, defined once.

* every ``NOTELOCK_*`` environment variable: name, type, default, meaning,
  and who sets it (:data:`SETTINGS`, read with :func:`setting`);
* the ``%%lock`` line grammar: which lines lock a cell, which load the
  extension, and the options a ``%%lock`` line takes (:data:`LOCK_OPTIONS`);
* the driver↔kernel settings a headless build or a replay hands a fresh
  kernel (:func:`kernel_settings`).

The kernel side, the headless drivers and the CLI all read from here, so a
variable or an option is never spelled two ways. docs/settings.md holds the
same table (a test keeps them in step).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import UsageError


@dataclass(frozen=True)
class Setting:
    """One ``NOTELOCK_*`` environment variable."""

    name: str
    kind: str  # "path", "flag", "size", "text"
    default: str | None
    meaning: str
    #: "you" (users set it), "build" (headless builds set it for their kernel),
    #: "replay" (the replay driver sets it for its kernel)
    set_by: str


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("NOTELOCK_NOTEBOOK", "path", None,
            "the notebook the kernel runs (a headless kernel has no Jupyter session path)", "build, replay"),
    Setting("NOTELOCK_LOCK_PATH", "path", None,
            "write the lock here instead of beside the notebook", "build, replay"),
    Setting("NOTELOCK_LOCK_ALL", "flag", "0",
            "record every cell as if it were `%%lock` (notebooks that do not use notelock)", "build, replay"),
    Setting("NOTELOCK_REPLAY", "path", None,
            "the replay plan (JSON) the kernel pins its reads to", "replay"),
    Setting("NOTELOCK_STORE", "path", ".notelock/ beside the lock",
            "the content store (snapshots, cache, history): a folder (relative to the lock's) or an fsspec URL "
            "such as `s3://bucket/prefix` (a shared team store; see docs/team.md)", "you"),
    Setting("NOTELOCK_STORE_CACHE", "path", "~/.cache/notelock/stores/",
            "where a remote store's objects are kept locally once read (its read-through tier)", "you"),
    Setting("NOTELOCK_STORE_MAX_BYTES", "size", None,
            "cap the store's size: least recently used cache objects are evicted first", "you"),
    Setting("NOTELOCK_SNAPSHOT_MAX_BYTES", "size", "1GiB",
            "reads larger than this are recorded by hash only, never copied into the store", "you"),
    Setting("NOTELOCK_PACK_MAX_BYTES", "size", "64GiB",
            "the largest total size a pack may hold or unpack to (`notelock pack`, `unpack`)", "you"),
    Setting("NOTELOCK_CHECK_WRITES", "flag", "0",
            "validate every lock against lock.schema.json before it is written (the test suite sets it)", "you"),
    Setting("NOTELOCK_ALLOW_DIRTY", "flag", "0",
            "record runs from a git tree with uncommitted changes without a warning", "you"),
    Setting("NOTELOCK_IMAGE", "text", None, "the container image the kernel runs in", "you"),
    Setting("NOTELOCK_IMAGE_DIGEST", "text", None, "that image's digest (sha256:…)", "you"),
)}


def setting(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of a declared ``NOTELOCK_*`` variable, or None when unset or empty
    (the documented default then applies where it is used)."""
    if name not in SETTINGS:  # an undeclared variable is a bug, not a user error
        raise KeyError(name)
    env = os.environ if environ is None else environ
    return env.get(name) or None


def flag(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a flag variable is set to a true value (``1``, ``true``, ``yes``, ``on``)."""
    value = setting(name, environ)
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


# ---------------------------------------------------------------- the %%lock line

#: a ``%%lock`` line: the cell magic, then its options (or nothing)
LOCK_LINE = re.compile(r"^[ \t]*%%lock(?:[ \t]|$)")
#: a line that loads the extension, as IPython's magic syntax allows it
LOAD_LINE = re.compile(r"^\s*%(?:re)?load_ext\s+(?:\S+\s+)*notelock(?:\s|$)", re.MULTILINE)
LOAD_SOURCES = ("%load_ext notelock", "%reload_ext notelock")


def split_lock_header(raw_cell: str) -> tuple[str, str] | None:
    """``(options, body)`` of a ``%%lock`` cell, or None if the cell is not locked.

    Other cell magics may stand before the ``%%lock`` line (``%%time`` then
    ``%%lock``); the body is what follows it. A trailing ``# comment`` on the
    line is not an option.
    """
    lines = raw_cell.lstrip("\n").splitlines(keepends=True)
    for i, line in enumerate(lines):
        if LOCK_LINE.match(line):
            return strip_comment(line.strip()[len("%%lock"):]).strip(), "".join(lines[i + 1:])
        if not line.lstrip().startswith("%%"):
            return None
    return None


def is_locked_source(source: str) -> bool:
    """Whether a cell's source is a ``%%lock`` cell."""
    return split_lock_header(source) is not None


def loads_notelock(source: str) -> bool:
    """Whether a cell's source loads the extension."""
    return bool(LOAD_LINE.search(source))


def strip_comment(line: str) -> str:
    """A magic's argument line without a trailing ``# comment`` (quotes respected)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line


@dataclass(frozen=True)
class LockOption:
    """One option of the ``%%lock`` line."""

    flag: str
    help: str
    kind: type | None = None  # None: a switch; float: a number

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


LOCK_OPTIONS: tuple[LockOption, ...] = (
    LockOption("--snapshot", "keep a copy of every input this cell reads in the store"),
    LockOption("--cache", "restore this cell's results from the store when its identity was seen before"),
    LockOption("--strict", "stop the cell at a read whose schema differs from the lock"),
    LockOption("--nondeterministic", "record the cell's results but do not verify them on replay"),
    LockOption("--deterministic", "verify this cell exactly on replay, whatever %%lock contract says"),
    LockOption("--rtol", "verify numeric results on replay within this relative tolerance", float),
    LockOption("--atol", "verify numeric results on replay within this absolute tolerance", float),
)


class _OptionParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"%%lock: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageError(f"%%lock: {(message or 'bad options').strip()}")


def _parser() -> argparse.ArgumentParser:
    parser = _OptionParser(prog="%%lock", add_help=False)
    for opt in LOCK_OPTIONS:
        if opt.kind is None:
            parser.add_argument(opt.flag, action="store_true", help=opt.help)
        else:
            parser.add_argument(opt.flag, type=opt.kind, default=None, help=opt.help)
    parser.add_argument("names", nargs="*", help="variables the options apply to (--nondeterministic NAME…)")
    return parser


_PARSER = _parser()


def parse_lock_options(header: str) -> dict[str, Any]:
    """The options of a ``%%lock`` line as a dict; :class:`UsageError` (one line) when they are bad.

    Checked here, before the cell runs, so a cell with bad options never runs
    unrecorded: ``--rtol``/``--atol`` must be finite and ≥ 0, and
    ``--deterministic`` excludes ``--nondeterministic`` and the tolerances.
    """
    try:
        argv = shlex.split(strip_comment(header))
    except ValueError as err:
        raise UsageError(f"%%lock: {err}") from None
    args = vars(_PARSER.parse_args(argv))
    for key in ("rtol", "atol"):
        value = args.get(key)
        if value is not None and not (value >= 0 and value != float("inf")):
            raise UsageError(f"%%lock: --{key} must be a finite number ≥ 0, got {value}")
    if args.get("deterministic") and (args.get("nondeterministic") or args.get("rtol") or args.get("atol")):
        raise UsageError("%%lock: --deterministic cannot be combined with --nondeterministic, --rtol or --atol")
    names = args.pop("names", [])
    if names and not args.get("nondeterministic"):
        raise UsageError(f"%%lock: unexpected argument {names[0]!r} (variable names follow --nondeterministic)")
    for name in names:
        if not name.isidentifier():
            raise UsageError(f"%%lock: {name!r} is not a variable name")
    out = {k: v for k, v in args.items() if v not in (None, False)}
    if names:
        # only these variables are nondeterministic; the rest of the cell is verified
        out.pop("nondeterministic", None)
        out["nondeterministic_names"] = sorted(set(names))
    return out


def lock_options_help() -> str:
    """The ``%%lock`` options, one per line (for help texts)."""
    return "\n".join(f"{o.flag}{' X' if o.kind else ''}: {o.help}" for o in LOCK_OPTIONS)


# ---------------------------------------------------------------- driver ↔ kernel


def kernel_settings(*, notebook: str | None, lock_path: str, lock_all: bool = False,
                    replay_plan: str | None = None) -> dict[str, str]:
    """The variables a headless driver sets for the fresh kernel it starts."""
    env = {"NOTELOCK_LOCK_PATH": lock_path}
    if notebook:
        env["NOTELOCK_NOTEBOOK"] = notebook
    if lock_all:
        env["NOTELOCK_LOCK_ALL"] = "1"
    if replay_plan:
        env["NOTELOCK_REPLAY"] = replay_plan
    return env


#: what a driver removes from the environment it passes on, so a kernel
#: never inherits the settings of the process that started the driver
DRIVER_VARIABLES = ("NOTELOCK_NOTEBOOK", "NOTELOCK_LOCK_PATH", "NOTELOCK_LOCK_ALL", "NOTELOCK_REPLAY",
                    "JPY_SESSION_NAME")


__all__ = ["SETTINGS", "Setting", "setting", "flag", "LOCK_LINE", "LOAD_LINE", "LOAD_SOURCES",
           "split_lock_header", "is_locked_source", "loads_notelock", "strip_comment", "LOCK_OPTIONS",
           "LockOption", "parse_lock_options", "lock_options_help", "kernel_settings", "DRIVER_VARIABLES"]
