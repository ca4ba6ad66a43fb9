"""Detached ed25519 signatures of locks (``notelock sign``), through ``cryptography``.

The signature covers the lock's canonical text (the bytes ``notelock``
writes: sorted keys, 2-space indent), so re-indenting a lock by hand keeps
it valid while changing any value does not. It lives beside the lock as
``X.lock.json.sig``, a small JSON file::

    {"algorithm": "ed25519", "key": "<public key, base64>", "key_id": "<16 hex>",
     "signature": "<base64>", "signed": "xxh3_128:<hash of the canonical text>"}

Keys are PEM files: the private key (PKCS#8, unencrypted, mode 0600) and
its public key beside it (``KEY.pub``). ``cryptography`` is imported only
when signing or verifying (``pip install 'notelock[sign]'``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import canonical
from .errors import NotelockError, UsageError
from .hashing import hash_bytes
from .lockfile import atomic_write_bytes

SUFFIX = ".sig"
MAX_SIGNATURE_BYTES = 64 << 10


class SignatureError(NotelockError):
    """A signature that does not verify, or a key that cannot be used."""

    exit_code = 1
    http_status = 409


def signature_path(lock_path: str | os.PathLike[str]) -> Path:
    """Where the detached signature of *lock_path* lives."""
    p = Path(lock_path)
    return p.with_name(p.name + SUFFIX)


def signed_bytes(lock: dict[str, Any]) -> bytes:
    """What a signature covers: the lock's canonical text."""
    return canonical.dumps(lock).encode("utf-8")


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise UsageError("signing needs the cryptography package: pip install 'notelock[sign]'") from None
    return ed25519


def key_id(public_raw: bytes) -> str:
    """A short fingerprint of a public key (sha256, 16 hex)."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def generate_key(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write a new private key to *path* (mode 0600) and its public key to ``path.pub``."""
    from cryptography.hazmat.primitives import serialization

    ed25519 = _crypto()
    target = Path(path)
    public_path = target.with_name(target.name + ".pub")
    for p in (target, public_path):
        if p.exists():
            raise UsageError(f"{p}: already exists (a key is never overwritten)")
    private = ed25519.Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public_path.write_bytes(private.public_key().public_bytes(serialization.Encoding.PEM,
                                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    return target, public_path


def _load_key(path: str | os.PathLike[str], private: bool) -> Any:
    from cryptography.hazmat.primitives import serialization

    ed25519 = _crypto()
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise UsageError(f"{path}: cannot read the key: {err.strerror or err}") from None
    key: Any
    try:
        if private:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            try:
                key = serialization.load_pem_public_key(data)
            except ValueError:  # a private key also names its public key
                key = serialization.load_pem_private_key(data, password=None).public_key()
    except (ValueError, TypeError):
        raise UsageError(f"{path}: not an unencrypted PEM {'private' if private else 'public'} key") from None
    wanted = ed25519.Ed25519PrivateKey if private else ed25519.Ed25519PublicKey
    if not isinstance(key, wanted):
        raise UsageError(f"{path}: not an ed25519 key")
    return key


def _raw_public(public: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def key_file_id(path: str | os.PathLike[str]) -> str:
    """The key id of the public (or private) key file at *path*."""
    return key_id(_raw_public(_load_key(path, private=False)))


def sign(lock: dict[str, Any], lock_path: str | os.PathLike[str], key_path: str | os.PathLike[str]) -> Path:
    """Sign the (validated) *lock* with the private key at *key_path*; writes ``X.lock.json.sig``."""
    private = _load_key(key_path, private=True)
    data = signed_bytes(lock)
    raw = _raw_public(private.public_key())
    body = {"algorithm": "ed25519", "key": base64.b64encode(raw).decode(), "key_id": key_id(raw),
            "signature": base64.b64encode(private.sign(data)).decode(), "signed": hash_bytes(data)}
    target = signature_path(lock_path)
    atomic_write_bytes(target, (json.dumps(body, sort_keys=True, indent=2) + "\n").encode())
    return target


def verify(lock: dict[str, Any], sig_path: Path, key: str | os.PathLike[str] | None = None) -> str:
    """Verify the signature at *sig_path* over *lock*; returns the signer's key id.

    With *key* (a public or private key file) the signature must be that
    key's; without, the key the signature carries is used. Raises
    :class:`SignatureError` (exit 1) when it does not verify.
    """
    ed25519 = _crypto()
    from cryptography.exceptions import InvalidSignature

    name = sig_path.name
    try:
        if sig_path.stat().st_size > MAX_SIGNATURE_BYTES:
            raise SignatureError(f"{name}: too large to be a signature")
        body = json.loads(sig_path.read_bytes())
        if body.get("algorithm") != "ed25519":
            raise SignatureError(f"{name}: algorithm {str(body.get('algorithm'))[:20]!r} is not ed25519")
        carried = base64.b64decode(body["key"], validate=True)
        signature = base64.b64decode(body["signature"], validate=True)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise SignatureError(f"{name}: not a readable notelock signature") from None
    if key is not None:
        public = _load_key(key, private=False)
        if _raw_public(public) != carried:
            raise SignatureError(f"{name}: signed by key {key_id(carried)}, not by {Path(key).name} "
                                 f"({key_id(_raw_public(public))})")
    else:
        try:
            public = ed25519.Ed25519PublicKey.from_public_bytes(carried)
        except ValueError:
            raise SignatureError(f"{name}: carries a key that is not an ed25519 public key") from None
    try:
        public.verify(signature, signed_bytes(lock))
    except InvalidSignature:
        raise SignatureError(f"{name}: BAD signature: the lock is not the text key {key_id(carried)} signed "
                             "(edited since it was signed?)") from None
    return key_id(carried)


def check_signature(lock: dict[str, Any], lock_path: str | os.PathLike[str], add: Callable[[int, str, str], None],
                    *, key: str | None = None, required: bool = False) -> None:
    """The signature finding of ``notelock check`` (see :mod:`notelock.core.check`)."""
    sig = signature_path(lock_path)
    if not sig.is_file():
        if key is not None or required:
            add(1, "signature", f"{Path(lock_path).name} is not signed ({sig.name} is missing)")
        else:
            add(0, "signature", "not signed")
        return
    try:
        who = verify(lock, sig, key)
    except SignatureError as err:
        add(1, "signature", str(err))
        return
    trust = "" if key is not None else " (the key it carries; pass --key to require yours)"
    add(0, "signature", f"signature verifies: key {who}{trust}")


__all__ = ["sign", "verify", "generate_key", "check_signature", "signature_path", "signed_bytes",
           "SignatureError", "key_id", "key_file_id"]
