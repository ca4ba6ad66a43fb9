"""``notelock sign LOCK --key KEY``: a detached ed25519 signature of a lock."""

from __future__ import annotations

import argparse

from ..core.errors import UsageError
from ..core.history import resolve_lock_source
from ..core.signing import generate_key, key_file_id, sign

DESCRIPTION = """\
Sign a lock: writes X.lock.json.sig beside it, an ed25519 signature over the
lock's canonical text made with the private key KEY (PEM). notelock check
verifies it; an auditor can then tell the lock from a hand-edited one.

  notelock sign --generate-key signing.pem    # writes signing.pem (0600) and signing.pem.pub
  notelock sign fraud.lock.json --key signing.pem
  notelock check fraud.lock.json --key signing.pem.pub

Exit status: 0 signed (or key written), 2 bad usage or unusable input.
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``notelock sign`` to the command tree."""
    p = sub.add_parser("sign", help="sign a lock (ed25519, detached X.lock.json.sig)", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("lock", nargs="?", metavar="LOCK", help="a .lock.json or the .ipynb it belongs to")
    p.add_argument("--key", metavar="KEY", help="the private key (PEM) to sign with")
    p.add_argument("--generate-key", metavar="PATH", help="write a new private key to PATH and its public key "
                                                          "to PATH.pub, then stop")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Sign, or generate a key pair."""
    if args.generate_key:
        if args.lock or args.key:
            raise UsageError("--generate-key takes no lock and no --key")
        private, public = generate_key(args.generate_key)
        print(f"wrote {private} (private, keep it secret) and {public} (public key {key_file_id(public)})")
        return 0
    if not args.lock or not args.key:
        raise UsageError("sign needs a lock and --key KEY (or --generate-key PATH)")
    lock, path, name = resolve_lock_source(args.lock)
    if name != path.name:
        raise UsageError("only the current lock file can be signed, not an earlier version")
    target = sign(lock, path, args.key)
    print(f"signed {name}: {target.name}")
    return 0
