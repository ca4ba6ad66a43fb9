"""``notelock status NB.ipynb``: is the lock current? Decided without a kernel."""

from __future__ import annotations

import argparse
import json

from ..core.uptodate import status

DESCRIPTION = """\
Say, for each notebook, whether its lock still describes it, from files
alone (no kernel starts): the notebook's checksum, every recorded read's
source (the file's content hash), the installed packages and Python.

  current      running the notebook again could only record the same computation
  stale        something differs (each difference is named)
  cannot tell  the lock cannot know: a SQL or URL read, an unlocked cell that
               could read unrecorded inputs (calls a module function, runs a
               magic…), or a locked cell reading outside the recorded readers

Exit status: 0 every lock current; 1 one is stale or cannot tell; 2 bad usage
(no such notebook).
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``notelock status`` to the command tree."""
    p = sub.add_parser("status", help="is each notebook's lock current? (no kernel)", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebooks", nargs="+", metavar="NB.ipynb", help="notebooks whose lock to judge")
    p.add_argument("--json", action="store_true", help="print a machine-readable report")
    p.add_argument("-v", "--verbose", action="store_true", help="every reason, not only the first")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Judge each notebook; one line each (``--verbose``: every reason)."""
    results = [status(nb) for nb in args.notebooks]
    if args.json:
        data = [r.as_dict() for r in results]
        print(json.dumps(data[0] if len(data) == 1 else data, indent=2))
    else:
        for r in results:
            print(r.line())
            if args.verbose:
                for reason in r.reasons()[1:]:
                    print(f"  {reason}")
    return max(r.exit_code for r in results)
