"""``notelock unpack run.nlpack -C DIR``: a pack, verified, back into a folder."""

from __future__ import annotations

import argparse

from ..core.unpack import unpack

DESCRIPTION = """\
Unpack a pack into DIR (default: the current folder): the lock and notebook
into DIR, the objects into the store DIR/.notelock/. Every member is checked
against the pack's manifest before anything is written; a damaged member is
refused, naming it. Then: notelock replay DIR/X.lock.json.

Exit status: 0 unpacked, 2 a damaged or tampered pack, or bad usage.
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``notelock unpack`` to the command tree."""
    p = sub.add_parser("unpack", help="unpack a pack into a folder (verified)", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pack", metavar="PACK", help="a .nlpack written by notelock pack")
    p.add_argument("-C", "--directory", default=".", metavar="DIR", help="where to unpack (created if needed)")
    p.add_argument("--force", action="store_true", help="replace a lock or notebook of other content in DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Unpack and say where."""
    result = unpack(args.pack, args.directory, force=args.force)
    objects = sum(1 for m in result.manifest["members"] if m["name"].startswith("objects/"))
    print(f"unpacked {result.manifest['lock']} and {objects} objects into {result.folder} "
          f"(pack {result.pack_id[9:21]} verified)")
    return 0
