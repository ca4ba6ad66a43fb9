"""``notelock pack NB.ipynb|LOCK -o run.nlpack``: one portable archive of a lock."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.errors import UsageError
from ..core.history import split_spec
from ..core.pack import PACK_SUFFIX, pack
from ..core.store import format_size

DESCRIPTION = """\
Write one portable archive of a lock: the lock, the notebook beside it, every
store object the lock pins (its input snapshots; with --with-cache, its cells'
cache entries too), its signature if signed, and requirements.txt pinning the
recorded environment. The archive is deterministic (same lock and objects,
same bytes) and named by the hash of its manifest, which lists every member
with its hash. A lock whose pinned objects are missing is refused, naming
them. notelock replay run.nlpack replays it in an empty folder anywhere.

Limits: the pack's total size is at most NOTELOCK_PACK_MAX_BYTES (64GiB by
default); each snapshot is at most the snapshot limit it was recorded under.

Exit status: 0 written, 2 bad usage or unusable input (missing objects).
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``notelock pack`` to the command tree."""
    p = sub.add_parser("pack", help="write a portable archive of a lock and the objects it pins",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("lock", metavar="NB.ipynb|LOCK", help="the notebook or its .lock.json")
    p.add_argument("-o", "--output", metavar="PACK", default=None,
                   help=f"the archive to write (default: the lock's name with {PACK_SUFFIX})")
    p.add_argument("--no-snapshots", action="store_true",
                   help="leave the snapshots out (a replay then needs the original sources)")
    p.add_argument("--with-cache", action="store_true", help="include the cache entries of the lock's cells")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Pack and say what was written."""
    path, number = split_spec(args.lock)
    if number:
        raise UsageError("pack takes the current lock, not an earlier version")
    out = Path(args.output) if args.output else path.with_name(path.name[: -len(".lock.json")] + PACK_SUFFIX)
    result = pack(path, out, snapshots=not args.no_snapshots, cache=args.with_cache)
    note = f"; left out: {', '.join(result.omitted)}" if result.omitted else ""
    print(f"packed {result.lock} into {result.path}: {result.members} members, {result.objects} objects, "
          f"{format_size(result.size)} (pack {result.pack_id[9:21]}){note}")
    return 0
