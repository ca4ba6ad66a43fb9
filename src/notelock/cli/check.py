"""``notelock check LOCK|PACK``: the offline integrity check (nothing runs)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from ..core.check import Finding, check_lock
from ..core.errors import UsageError
from ..core.history import split_spec
from ..core.unpack import is_pack, unpack

DESCRIPTION = """\
Check a lock file, or a pack, without running anything: the lock validates,
every node id is the hash of its content, every edge points to a node of the
lock, every pinned object is in the store (or the pack) and re-hashes to its
name, the notebook beside it still has the recorded checksum, and its
signature (X.lock.json.sig) verifies. One line per check.

Exit status: 0 every check passed; 1 a negative verdict on a usable lock
(the notebook changed, a bad or missing signature); 2 an unusable lock or
pack (does not validate, a node id that does not match its content, an edge
to a missing node, a missing or corrupted pinned object, a damaged pack).
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``notelock check`` to the command tree."""
    p = sub.add_parser("check", help="verify a lock or pack offline: ids, edges, objects, notebook, signature",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("lock", metavar="LOCK|PACK", help="a .lock.json, the .ipynb it belongs to, or a .nlpack")
    p.add_argument("--key", metavar="PUBKEY", default=None,
                   help="the public key the signature must verify with (implies --require-signature)")
    p.add_argument("--require-signature", action="store_true", help="an unsigned lock fails the check")
    p.add_argument("--json", action="store_true", help="print a machine-readable report")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check, print one line per finding, return the exit code."""
    if is_pack(args.lock):
        with tempfile.TemporaryDirectory(prefix="notelock-check-") as tmp:
            unpacked = unpack(args.lock, tmp)  # verifies every member first
            report = check_lock(unpacked.lock_path, key=args.key, require_signature=args.require_signature,
                                name=f"{Path(args.lock).name}:{unpacked.lock_path.name}")
            members = len(unpacked.manifest["members"])
            report.findings.insert(0, Finding(0, f"pack intact: {members} members match its manifest "
                                                 f"(pack {unpacked.pack_id[9:21]})", "pack"))
    else:
        path, number = split_spec(args.lock)
        if number:
            raise UsageError("check takes a lock file or a pack (an earlier version: notelock show NB.ipynb~N)")
        report = check_lock(path, key=args.key, require_signature=args.require_signature)
    code = report.exit_code
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        for f in report.findings:
            print(f"{'ok  ' if not f.code else 'FAIL'}  {f.what:<10}  {f.text}")
        print(f"{report.lock}: " + ("every check passed" if not code else
                                    f"{len(report.problems())} check{'s' if len(report.problems()) != 1 else ''} "
                                    f"failed → exit {code}"))
    if code:
        print(f"notelock: check failed: {report.problems()[0].text}", file=sys.stderr)
    return code

