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
refuses, naming it, a member that does not match.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import xxhash

from . import canonical, envspec, protocol
from .collect import lock_use
from .errors import LockFileError, NotelockError, StoreError, UsageError
from .hashing import PREFIX, hash_bytes
from .lockfile import LOCK_SUFFIX, MAX_LOCK_BYTES, load_lock, loads_lock
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
_PIECE = 1 << 20
# the only member names a pack may hold: no folders of the user's, no "..",
# nothing absolute, so unpacking can never write outside its target
_TOP = re.compile(r"^[^/\\\x00]{1,255}$")
_OBJECT = re.compile(r"^objects/[0-9a-f]{32}$")
_ENTRY = re.compile(r"^cache/[0-9a-f]{32}(-[0-9a-f]{1,64})?\.json$")
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


@dataclass
class Unpacked:
    """What ``unpack`` wrote: the folder, the lock in it, and the manifest."""

    folder: Path
    lock_path: Path
    manifest: dict[str, Any]
    pack_id: str


def max_bytes_from_env(environ: dict[str, str] | None = None) -> int:
    """The total-size limit of a pack (``NOTELOCK_PACK_MAX_BYTES``, e.g. ``100GiB``)."""
    text = protocol.setting("NOTELOCK_PACK_MAX_BYTES", os.environ if environ is None else environ)
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        return parse_size(text)
    except ValueError:
        return DEFAULT_MAX_BYTES


def is_pack(path: str | os.PathLike[str]) -> bool:
    """Whether *path* names a pack (by its suffix, or a zip whose first member is a manifest)."""
    p = Path(path)
    if p.name.endswith(PACK_SUFFIX):
        return True
    try:
        if not stat.S_ISREG(p.stat().st_mode):
            return False  # never open a pipe or a device to look: it may block
        with open(p, "rb") as fh:
            head = fh.read(30 + len(MANIFEST))
    except OSError:
        return False
    return head[:4] == b"PK\x03\x04" and head[30:] == MANIFEST.encode()


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
        if path.is_file() and _TOP.match(path.name):
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
    fd, tmp = tempfile.mkstemp(prefix=".nl-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_COMPRESS_LEVEL) as zf:
                zf.writestr(_zipinfo(MANIFEST), manifest)
                for member in members:
                    with member.open() as src, zf.open(_zipinfo(member.name), "w", force_zip64=True) as dst:
                        shutil.copyfileobj(src, dst, _PIECE)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


# ---------------------------------------------------------------- reading


class PackError(NotelockError):
    """A pack is unreadable, malformed, or holds a member that does not match its manifest."""

    http_status = 422


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        if path.exists() and not path.is_dir() and not stat.S_ISREG(path.stat().st_mode):
            raise PackError(f"{path}: not a regular file (a pipe or a device cannot be a pack)")
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise PackError(f"{path}: no such pack") from None
    except IsADirectoryError:
        raise PackError(f"{path}: is a directory, not a pack") from None
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise PackError(f"{path.name}: not a readable pack ({' '.join(str(err).split())})") from None


def read_manifest(zf: zipfile.ZipFile, name: str) -> tuple[dict[str, Any], str]:
    """The manifest of an open pack, checked for shape; and the pack's id."""
    try:
        info = zf.getinfo(MANIFEST)
    except KeyError:
        raise PackError(f"{name}: not a notelock pack (no {MANIFEST})") from None
    if info.file_size > MAX_MANIFEST_BYTES:
        raise PackError(f"{name}: {MANIFEST} is {format_size(info.file_size)}, larger than a manifest can be")
    data = _read_member(zf, info, name, MAX_MANIFEST_BYTES)
    try:
        manifest = json.loads(data)
    except ValueError:
        raise PackError(f"{name}: {MANIFEST} is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise PackError(f"{name}: not a notelock pack ({MANIFEST} is not a pack manifest)")
    if manifest.get("version") != VERSION:
        raise PackError(f"{name}: pack format version {manifest.get('version')!r} is not supported "
                        f"(this notelock reads version {VERSION})")
    entries = manifest.get("members")
    if not isinstance(entries, list) or len(entries) > MAX_MEMBERS:
        raise PackError(f"{name}: {MANIFEST} has no valid member list")
    seen = set()
    for entry in entries:
        if not (isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry.get("role") in ROLES
                and isinstance(entry.get("size"), int) and not isinstance(entry.get("size"), bool)
                and entry["size"] >= 0 and isinstance(entry.get("hash"), str)):
            raise PackError(f"{name}: {MANIFEST} has a malformed member entry")
        member = entry["name"]
        if not _safe_name(member, entry["role"]) or member in seen or member == MANIFEST:
            raise PackError(f"{name}: {MANIFEST} names a member that cannot be unpacked: {member[:80]!r}")
        if entry["role"] in ("snapshot", "cache-object") and entry["hash"] != PREFIX + member[len("objects/"):]:
            raise PackError(f"{name}: object {member[8:20]} is listed with another hash")
        seen.add(member)
    if not isinstance(manifest.get("lock"), str) or manifest["lock"] not in seen:
        raise PackError(f"{name}: {MANIFEST} names no lock file among its members")
    return manifest, hash_bytes(data)


def _safe_name(member: str, role: str) -> bool:
    if role in ("snapshot", "cache-object"):
        return bool(_OBJECT.match(member))
    if role == "cache-entry":
        return bool(_ENTRY.match(member))
    return bool(_TOP.match(member)) and member not in (".", "..") and not member.startswith(".notelock")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limit: int) -> bytes:
    out = bytearray()
    for piece in _pieces(zf, info, name):
        out += piece
        if len(out) > limit:
            raise PackError(f"{name}: {info.filename} is larger than it can be")
    return bytes(out)


def _pieces(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> Iterator[bytes]:
    what = _describe(info.filename)
    try:
        with zf.open(info) as fh:
            while True:
                piece = fh.read(_PIECE)
                if not piece:
                    return
                yield piece
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
        raise PackError(f"{name}: {what} is damaged ({' '.join(str(err).split())[:120]})") from None


def _describe(member: str) -> str:
    if member.startswith("objects/"):
        return f"object {member[8:20]} (objects/{member[8:]})"
    return member


def pack_identity(path: str | os.PathLike[str]) -> str | None:
    """The identity of the lock a pack holds, from its manifest (members not re-hashed)."""
    p = Path(path)
    with _open_zip(p) as zf:
        manifest, _pack_id = read_manifest(zf, p.name)
    identity = manifest.get("identity")
    return identity if isinstance(identity, str) else None


def verify_pack(path: str | os.PathLike[str], *, max_bytes: int | None = None) -> tuple[dict[str, Any], str]:
    """Check every member of the pack at *path* against its manifest, writing nothing.

    Returns the manifest and the pack's id; raises :class:`PackError` naming
    the first member that is missing, extra, damaged or of another content.
    """
    p = Path(path)
    with _open_zip(p) as zf:
        manifest, pack_id = read_manifest(zf, p.name)
        for _entry, _info, _digest in _walk(zf, manifest, p.name, max_bytes):
            pass
    return manifest, pack_id


def _walk(zf: zipfile.ZipFile, manifest: dict[str, Any], name: str, max_bytes: int | None,
          sink: Any = None) -> Iterator[tuple[dict[str, Any], zipfile.ZipInfo, str]]:
    limit = max_bytes_from_env() if max_bytes is None else max_bytes
    entries = {e["name"]: e for e in manifest["members"]}
    infos = {i.filename: i for i in zf.infolist()}
    extra = sorted(set(infos) - set(entries) - {MANIFEST})
    if extra:
        raise PackError(f"{name}: holds {_describe(extra[0])}, which its manifest does not list (tampered?)")
    total = sum(e["size"] for e in entries.values())
    if total > limit:
        raise PackError(f"{name}: unpacks to {format_size(total)}, over the limit of {format_size(limit)} "
                        "(raise NOTELOCK_PACK_MAX_BYTES to allow it)")
    for member, entry in sorted(entries.items()):
        info = infos.get(member)
        if info is None:
            raise PackError(f"{name}: {_describe(member)} is listed in its manifest but missing from the pack")
        if info.file_size != entry["size"]:
            raise PackError(f"{name}: {_describe(member)} has {info.file_size:,} bytes, its manifest says "
                            f"{entry['size']:,} (tampered?)")
        h = xxhash.xxh3_128()
        seen = 0
        out = sink(entry) if sink is not None else None
        try:
            for piece in _pieces(zf, info, name):
                seen += len(piece)
                if seen > entry["size"]:
                    raise PackError(f"{name}: {_describe(member)} is longer than its manifest says (tampered?)")
                h.update(piece)
                if out is not None:
                    out.write(piece)
        finally:
            if out is not None:
                out.close()
        digest = PREFIX + h.hexdigest()
        if digest != entry["hash"]:
            raise PackError(f"{name}: {_describe(member)} does not match its recorded hash "
                            f"(pack damaged or tampered: {short(entry['hash'])} recorded, {short(digest)} read)")
        yield entry, info, digest


def unpack(path: str | os.PathLike[str], into: str | os.PathLike[str], *, force: bool = False,
           max_bytes: int | None = None) -> Unpacked:
    """Unpack the pack at *path* into the folder *into* (created if needed).

    Every member is verified before anything is put in place: the members
    are extracted to a staging folder inside *into*, then moved; objects go
    to the store ``.notelock/`` in *into*. A lock or notebook already there
    with other content is not overwritten unless *force*.
    """
    p = Path(path)
    folder = Path(into).absolute()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"{folder}: cannot create: {err.strerror or err}") from None
    store = Store(folder / ".notelock")
    with _open_zip(p) as zf:
        manifest, pack_id = read_manifest(zf, p.name)
        stage = Path(tempfile.mkdtemp(prefix=".nl-unpack-", dir=folder))
        try:
            def sink(entry: dict[str, Any]) -> IO[bytes]:
                target = stage / entry["name"]
                target.parent.mkdir(parents=True, exist_ok=True)
                return open(target, "wb")

            staged = [entry for entry, _info, _digest in _walk(zf, manifest, p.name, max_bytes, sink)]
            _check_lock(stage / manifest["lock"], p.name)
            _place(staged, stage, folder, store, force=force)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return Unpacked(folder=folder, lock_path=folder / manifest["lock"], manifest=manifest, pack_id=pack_id)


def _check_lock(path: Path, name: str) -> None:
    data = path.read_bytes()
    if len(data) > MAX_LOCK_BYTES:
        raise PackError(f"{name}: its lock is larger than a lock file can be")
    loads_lock(data, f"{name}:{path.name}")


def _place(entries: list[dict[str, Any]], stage: Path, folder: Path, store: Store, *, force: bool) -> None:
    for entry in entries:  # refuse before moving anything
        if "/" in entry["name"]:
            continue
        target = folder / entry["name"]
        if target.exists() and not force and hash_bytes(target.read_bytes()) != entry["hash"]:
            raise UsageError(f"{target}: already exists with other content (unpack elsewhere, or --force)")
    for entry in entries:
        source = stage / entry["name"]
        if entry["role"] in ("snapshot", "cache-object"):
            if store.put_file(source, expected=entry["hash"]) != entry["hash"]:
                raise PackError(f"object {short(entry['hash'])} changed while being unpacked")
        elif entry["role"] == "cache-entry":
            store.cache_dir.mkdir(parents=True, exist_ok=True)
            os.replace(source, store.cache_dir / entry["name"][len("cache/"):])
        else:
            os.replace(source, folder / entry["name"])


__all__ = ["pack", "unpack", "verify_pack", "pack_identity", "is_pack", "missing_objects", "read_manifest", "PackResult",
           "Unpacked", "PackError", "PackRefused", "PACK_SUFFIX", "DEFAULT_MAX_BYTES", "max_bytes_from_env"]
