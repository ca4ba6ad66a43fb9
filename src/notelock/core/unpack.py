"""Reading packs: verified, member by member, before anything is written.

The format is :mod:`notelock.core.pack`'s. :func:`unpack` checks every member
against the manifest (name, size, hash; every object against its own name)
while extracting it to a staging folder, and only then puts the lock, the
notebook and the objects in place; :func:`verify_pack` does the same checks
writing nothing. Member names are fixed patterns, so a pack can never write
outside its target; a pipe or a device is never opened.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import xxhash

from .errors import NotelockError, UsageError
from .hashing import PREFIX, hash_bytes
from .lockfile import MAX_LOCK_BYTES, loads_lock
from .pack import (
    FORMAT,
    MANIFEST,
    MAX_MANIFEST_BYTES,
    MAX_MEMBERS,
    MEMBER_ENTRY,
    MEMBER_OBJECT,
    MEMBER_TOP,
    PACK_SUFFIX,
    PIECE,
    ROLES,
    VERSION,
    max_bytes_from_env,
)
from .store import Store, format_size, short


@dataclass
class Unpacked:
    """What ``unpack`` wrote: the folder, the lock in it, and the manifest."""

    folder: Path
    lock_path: Path
    manifest: dict[str, Any]
    pack_id: str


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
        return bool(MEMBER_OBJECT.match(member))
    if role == "cache-entry":
        return bool(MEMBER_ENTRY.match(member))
    return bool(MEMBER_TOP.match(member)) and member not in (".", "..") and not member.startswith(".notelock")


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
                piece = fh.read(PIECE)
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


__all__ = ["unpack", "verify_pack", "pack_identity", "is_pack", "read_manifest", "Unpacked", "PackError"]
