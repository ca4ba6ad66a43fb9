"""Packs: a lock, its notebook and every store object it pins, in one archive.

A pack (``run.nlpack``) is a zip file whose first member, ``manifest.json``,
lists every other member with its xxh3-128 hash, size and role::

    manifest.json                 what the pack holds (canonical JSON)
    <name>.lock.json              the lock
    <notebook>.ipynb              the notebook beside it, when there was one
    <name>.lock.json.sig          its detached signature, when it was signed
    requirements.txt              the recorded environment as exact pins
    objects/<32 hex>              store objects: snapshots (and cache objects)
    cache/<entry>.json            cache entries of the lock's cells (--with-cache)

It is deterministic: members are written in sorted order with a fixed
timestamp (1980-01-01), fixed permissions (0644) and fixed compression, so
the same lock and objects give a byte-identical archive (with the same zlib).
It is content-addressed: the pack's id is the hash of its manifest, which
covers every member. Unpacking verifies every member against the manifest
(and every object against its own name) before anything is written, and
refuses, naming it, a member that does not match (:mod:`notelock.core.unpack`).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import canonical, envspec, protocol
from .collect import lock_use
from .errors import LockFileError, StoreError, UsageError
from .hashing import PREFIX, hash_bytes
from .lockfile import LOCK_SUFFIX, atomic_writer, load_lock, loads_lock
from .snapshots import snapshot_digests
from .store import Store, format_size, parse_size, short, store_for

PACK_SUFFIX = ".nlpack"
FORMAT = "notelock-pack"
VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE_SUFFIX = ".sig"
#: the largest manifest read (a pack of a million objects has a ~150 MB one)
MAX_MANIFEST_BYTES = 64 << 20
#: the most members a pack may have
MAX_MEMBERS = 200_000
#: default limit of a pack's total uncompressed size (NOTELOCK_PACK_MAX_BYTES)
DEFAULT_MAX_BYTES = 64 << 30
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_COMPRESS_LEVEL = 6
PIECE = 1 << 20
# the only member names a pack may hold: no folders of the user's, no "..",
# nothing absolute, so unpacking can never write outside its target
MEMBER_TOP = re.compile(r"^[^/\\\x00]{1,255}$")
MEMBER_OBJECT = re.compile(r"^objects/[0-9a-f]{32}$")
MEMBER_ENTRY = re.compile(r"^cache/[0-9a-f]{32}(-[0-9a-f]{1,64})?\.json$")
ROLES = ("lock", "notebook", "signature", "environment", "snapshot", "cache-object", "cache-entry")


class PackRefused(StoreError):
    """A lock cannot be packed as asked: pinned objects are missing (named)."""

    http_status = 409


@dataclass
class PackResult:
    """What ``pack`` wrote."""

    path: Path
    pack_id: str
    lock: str
    members: int
    objects: int
    size: int
    omitted: list[str] = field(default_factory=list)


def max_bytes_from_env(environ: dict[str, str] | None = None) -> int:
    """The total-size limit of a pack (``NOTELOCK_PACK_MAX_BYTES``, e.g. ``100GiB``)."""
    text = protocol.setting("NOTELOCK_PACK_MAX_BYTES", os.environ if environ is None else environ)
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        return parse_size(text)
    except ValueError:
        return DEFAULT_MAX_BYTES


# ---------------------------------------------------------------- packing


@dataclass
class _Member:
    name: str
    role: str
    size: int
    hash: str
    source: Path | None = None
    data: bytes | None = None
    node: str | None = None

    def entry(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "role": self.role, "size": self.size, "hash": self.hash}
        if self.node:
            out["node"] = self.node
        return out

    def open(self) -> IO[bytes]:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.source is not None
        return open(self.source, "rb")


def _bytes_member(name: str, role: str, data: bytes) -> _Member:
    return _Member(name, role, len(data), hash_bytes(data), data=data)


def _snapshot_nodes(lock: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for nid, node in sorted(lock.get("nodes", {}).items()):
        if isinstance(node, dict) and isinstance(node.get("snapshot"), str):
            out.setdefault(node["snapshot"], nid)
    return out


def _label(node: dict[str, Any]) -> str:
    return str(node.get("path") or node.get("url") or (node.get("query") and "SQL result") or node.get("reader"))


def missing_objects(lock: dict[str, Any], store: Store) -> list[str]:
    """One phrase per pinned snapshot that is missing from *store* or corrupted there."""
    nodes = lock.get("nodes", {})
    out = []
    for digest, nid in _snapshot_nodes(lock).items():
        try:
            store.path(digest)
        except StoreError as err:
            what = "corrupted" if "corrupted" in str(err) else "missing"
            out.append(f"{short(digest)} ({what}; snapshot of {nid} {_label(nodes[nid])})")
    return out


def pack(lock_path: str | os.PathLike[str], out: str | os.PathLike[str], *, snapshots: bool = True,
         cache: bool = False, store: Store | None = None, max_bytes: int | None = None) -> PackResult:
    """Write the pack of the lock at *lock_path* to *out*; see the module docstring.

    Raises :class:`StoreError` (exit 2) naming every pinned object that is
    missing, before anything is written.
    """
    lock_path = Path(lock_path).absolute()
    raw = _read_lock_bytes(lock_path)
    lock = loads_lock(raw, lock_path.name)
    store = store or store_for(lock_path)
    limit = max_bytes_from_env() if max_bytes is None else max_bytes
    members = [_bytes_member(lock_path.name, "lock", raw)]
    notebook = _notebook_member(lock, lock_path)
    if notebook is not None:
        members.append(notebook)
    sig = lock_path.with_name(lock_path.name + SIGNATURE_SUFFIX)
    if sig.is_file():
        members.append(_bytes_member(sig.name, "signature", sig.read_bytes()))
    try:
        members.append(_bytes_member("requirements.txt", "environment", envspec.requirements_text(lock).encode()))
    except LockFileError:
        pass  # a lock without packages recorded: nothing to pin
    omitted = []
    if snapshots:
        missing = missing_objects(lock, store)
        if missing:
            raise PackRefused(f"{lock_path.name}: cannot pack, {len(missing)} pinned object"
                             f"{'s are' if len(missing) != 1 else ' is'} not in {store.root}: "
                             + "; ".join(missing[:5]) + ("; …" if len(missing) > 5 else "")
                             + " (pack with --no-snapshots to leave them out)")
        for digest, nid in _snapshot_nodes(lock).items():
            members.append(_Member(f"objects/{digest[len(PREFIX):]}", "snapshot", store.size(digest), digest,
                                   source=store.path(digest), node=nid))
    elif snapshot_digests(lock):
        omitted.append("snapshots")
    if cache:
        members += _cache_members(lock, lock_path, store, {m.hash for m in members if m.role == "snapshot"})
    total = sum(m.size for m in members)
    if total > limit:
        raise UsageError(f"{lock_path.name}: the pack would hold {format_size(total)}, over the limit of "
                         f"{format_size(limit)} (NOTELOCK_PACK_MAX_BYTES; or pack with --no-snapshots)")
    members.sort(key=lambda m: m.name)
    manifest = {"format": FORMAT, "version": VERSION, "lock": lock_path.name, "identity": lock.get("identity"),
                "notebook": notebook.name if notebook else None, "omitted": omitted,
                "members": [m.entry() for m in members]}
    manifest_bytes = canonical.dumps(manifest).encode("utf-8")
    target = Path(out)
    _write_zip(target, manifest_bytes, members)
    return PackResult(path=target, pack_id=hash_bytes(manifest_bytes), lock=lock_path.name,
                      members=len(members), objects=sum(m.name.startswith("objects/") for m in members),
                      size=target.stat().st_size, omitted=omitted)


def _read_lock_bytes(lock_path: Path) -> bytes:
    load_lock(lock_path)  # the one place that refuses what is not a readable lock file
    return lock_path.read_bytes()


def _notebook_member(lock: dict[str, Any], lock_path: Path) -> _Member | None:
    recorded = (lock.get("workflow") or {}).get("notebook")
    candidates = []
    if isinstance(recorded, str) and recorded:
        candidates.append(lock_path.parent / recorded)
    candidates.append(lock_path.with_name(lock_path.name[: -len(LOCK_SUFFIX)] + ".ipynb"))
    for path in candidates:
        if path.is_file() and MEMBER_TOP.match(path.name):
            data = path.read_bytes()
            return _bytes_member(path.name, "notebook", data)
    return None


def _cache_members(lock: dict[str, Any], lock_path: Path, store: Store, have: set[str]) -> list[_Member]:
    use = lock_use(store, lock_path, lock)
    out = []
    for name in sorted(use.cache_entries):
        path = store.cache_dir / (name + ".json")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        out.append(_bytes_member(f"cache/{name}.json", "cache-entry", data))
    for digest in sorted(use.cache_objects - have):
        if not store.verify(digest):
            raise StoreError(f"{lock_path.name}: cannot pack its cache: object {short(digest)} is missing or "
                             f"corrupted in {store.root} (pack without --with-cache)")
        out.append(_Member(f"objects/{digest[len(PREFIX):]}", "cache-object", store.size(digest), digest,
                           source=store.path(digest)))
    return out


def _zipinfo(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # unix, whatever the platform: the same bytes everywhere
    info.external_attr = (0o100644 & 0xFFFF) << 16
    return info


def _write_zip(target: Path, manifest: bytes, members: list[_Member]) -> None:
    folder = target.absolute().parent
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder")
    with atomic_writer(target, mode=0o644) as fh:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_COMPRESS_LEVEL) as zf:
            zf.writestr(_zipinfo(MANIFEST), manifest)
            for member in members:
                with member.open() as src, zf.open(_zipinfo(member.name), "w", force_zip64=True) as dst:
                    shutil.copyfileobj(src, dst, PIECE)


__all__ = ["pack", "missing_objects", "PackResult", "PackRefused", "PACK_SUFFIX", "DEFAULT_MAX_BYTES",
           "max_bytes_from_env", "MANIFEST", "FORMAT", "VERSION", "ROLES"]
