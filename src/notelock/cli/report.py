"""``notelock report LOCK|PACK -o report.html``: one self-contained page for an auditor."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core.errors import UsageError
from ..core.lockfile import atomic_write_bytes
from ..core.report import report_for

DESCRIPTION = """\
Write one self-contained HTML page describing a lock, that opens in any
browser without Jupyter or a network: the verdicts (the offline check, run
now; the last replay, from --replay FILE, the output of notelock replay
--json), the graph, every data source with its content hash, schema and
snapshot, the parameters of every fit, the code of every cell, the
environment, workflow and git. No script; every value is escaped.

  notelock replay fraud.lock.json --json > replay.json
  notelock report fraud.lock.json --replay replay.json -o fraud-report.html

Exit status: 0 written, 2 bad usage or unusable input.
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``notelock report`` to the command tree."""
    p = sub.add_parser("report", help="a self-contained HTML audit report of a lock or pack",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("lock", metavar="LOCK|PACK", help="a .lock.json, the .ipynb it belongs to, NB.ipynb~N, or a pack")
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="the HTML file to write")
    p.add_argument("--replay", metavar="FILE", default=None,
                   help="the --json report of a replay of this lock, shown as its last replay")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the report."""
    replay = None
    if args.replay:
        try:
            replay = json.loads(Path(args.replay).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise UsageError(f"{args.replay}: not a replay report (notelock replay --json): {err}") from None
        if not isinstance(replay, dict) or "verdicts" not in replay:
            raise UsageError(f"{args.replay}: not a replay report (notelock replay --json)")
    page, name = report_for(args.lock, replay)
    target = Path(args.output)
    if not target.absolute().parent.is_dir():
        raise UsageError(f"{target.parent}: no such folder")
    atomic_write_bytes(target, page.encode("utf-8"))
    print(f"wrote {target}: the report of {name} ({len(page.encode()):,} bytes)")
    return 0
