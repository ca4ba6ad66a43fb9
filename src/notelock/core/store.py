"""The content store: immutable objects addressed by their xxh3-128 hash.

Layout under the store root (``.notelock/`` beside the lock file by default)::

    objects/ab/cdef…      one file per object, named by the 32 hex of its hash
    cache/<32 hex>.json   cache entries, one per cell identity (see cache.py)
    history/<key>.jsonl   replaced lock versions, one line each (see history.py)
    tmp/                  objects being written
    corrupt/              objects that failed verification, kept for inspection

Writes never leave a torn object: an object is written to a unique file in
``tmp/``, fsynced, made read-only and hard-linked into place. ``os.link``
fails when the target exists, so two writers of the same object (two
kernels, a kernel and a replay) cannot clobber each other: the second one
checks the object already there and discards its own copy, unless that one
is corrupted, in which case it is atomically replaced.

Reads are verified: :meth:`Store.path`, :meth:`Store.get_bytes` and
:meth:`Store.open` hash what they return. A corrupted object is moved to
``corrupt/`` and reported by name (:class:`StoreError`); from then on it is
missing, never silently used.
"""

from __future__ import annotations

import errno
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import xxhash

from . import protocol
from .errors import StoreError
from .hashing import PREFIX, hash_bytes, hash_file
from .lockfile import HASH_RE, atomic_write_bytes

#: the store folder beside a lock file, unless NOTELOCK_STORE says otherwise
DEFAULT_STORE_DIR = ".notelock"
_COPY_PIECE = 1 << 20
# Linux ioctl that clones a file's extents (copy-on-write) on btrfs, XFS and
# other filesystems with reflinks; anywhere else it fails and we copy.
_FICLONE = 0x40049409


#: how a store named by a URL is opened: core/remote_store.py registers the
#: fsspec opener when it is imported (it builds on Store, so this module
#: cannot import it); the core package imports it first thing
_URL_OPENERS: list[Callable[[str, dict[str, str]], Store]] = []


def register_url_opener(opener: Callable[[str, dict[str, str]], Store]) -> None:
    """Open store URLs (``s3://…``) with *opener(url, environ)* from now on."""
    _URL_OPENERS.append(opener)


def is_url(spec: str) -> bool:
    """Whether a store setting names a URL (``s3://…``, ``file://…``) rather than a folder."""
    scheme, sep, _ = spec.partition("://")
    return bool(sep) and scheme.replace("+", "").replace("-", "").isalnum() and len(scheme) > 1


def open_store(spec: str | os.PathLike[str], base: str | os.PathLike[str] | None = None,
               environ: dict[str, str] | None = None) -> Store:
    """The store *spec* names: a URL (a remote store with its local tier) or a
    folder (relative to *base* when given)."""
    text = os.fspath(spec)
    if is_url(text):
        if not _URL_OPENERS:
            raise StoreError(f"cannot open a store at {text.split('://', 1)[0]}:// (no remote store support loaded)")
        return _URL_OPENERS[-1](text, dict(os.environ if environ is None else environ))
    root = Path(text).expanduser()
    if not root.is_absolute() and base is not None:
        root = Path(base) / root
    return Store(root)


def store_for(lock_path: str | os.PathLike[str], environ: dict[str, str] | None = None) -> Store:
    """The store that belongs to a lock file.

    ``NOTELOCK_STORE`` names it when set: a URL is a remote store (see
    remote_store.py); a relative path is taken from the lock file's folder,
    so a kernel and a CLI in another working directory agree. Otherwise it is
    ``.notelock/`` beside the lock file.
    """
    env = os.environ if environ is None else environ
    folder = Path(lock_path).absolute().parent
    configured = protocol.setting("NOTELOCK_STORE", env)
    if configured:
        return open_store(configured, folder, dict(env))
    return Store(folder / DEFAULT_STORE_DIR)


def digest_hex(digest: str) -> str:
    """The 32 hex of an ``xxh3_128:`` digest (StoreError if it is not one)."""
    if not isinstance(digest, str) or not HASH_RE.match(digest):
        raise StoreError(f"not a store object name: {str(digest)[:60]!r}")
    return digest[len(PREFIX):]


def short(digest: str) -> str:
    """A readable short name of an object, as messages show it."""
    return digest[len(PREFIX):][:12] if digest.startswith(PREFIX) else digest[:12]


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: its digest, size in bytes and last modification."""

    digest: str
    size: int
    mtime: float


class Store:
    """A content-addressed object store rooted at *root* (created on first write)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        # objects are immutable: one verification per process is enough as
        # long as the file's inode, size and mtime are those we verified
        self._verified: dict[str, tuple[int, int, int]] = {}

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Store) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash(self.spec)

    @property
    def spec(self) -> str:
        """What names this store to :func:`~notelock.core.remote_store.open_store`."""
        return str(self.root.absolute())

    @property
    def where(self) -> str:
        """The store as messages show it."""
        return str(self.root)

    # ------------------------------------------------------------ layout
    @property
    def objects_dir(self) -> Path:
        return self.root / "objects"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def history_dir(self) -> Path:
        return self.root / "history"

    def object_path(self, digest: str) -> Path:
        """Where *digest* lives (unverified; it may not exist)."""
        hx = digest_hex(digest)
        return self.objects_dir / hx[:2] / hx[2:]

    def ensure(self) -> Path:
        """Create the store's folders (and a .gitignore: stores are large and local)."""
        for sub in ("objects", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        ignore = self.root / ".gitignore"
        if not ignore.exists():
            try:
                ignore.write_text("# notelock's content store: local objects, not for git\n*\n")
            except OSError:
                pass
        return self.root

    # ------------------------------------------------------------ reading
    def has(self, digest: str) -> bool:
        """Whether an object with this name is present (not verified)."""
        try:
            return self.object_path(digest).is_file()
        except StoreError:
            return False

    def size(self, digest: str) -> int:
        """Size in bytes of a present object."""
        try:
            return self.object_path(digest).stat().st_size
        except FileNotFoundError:
            raise StoreError(f"store object {short(digest)} is missing from {self.root}") from None

    def path(self, digest: str) -> Path:
        """The path of a verified object.

        Raises :class:`StoreError` naming the object if it is missing or
        corrupted; a corrupted object is moved to ``corrupt/`` first.
        """
        target = self.object_path(digest)
        try:
            st = target.stat()
        except FileNotFoundError:
            raise StoreError(f"store object {short(digest)} is missing from {self.root}") from None
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self._verified.get(digest) != stamp:
            if hash_file(target) != digest:
                self._quarantine(digest, target)
            self._verified[digest] = stamp
        return target

    def get_bytes(self, digest: str) -> bytes:
        """The verified bytes of an object."""
        target = self.object_path(digest)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise StoreError(f"store object {short(digest)} is missing from {self.root}") from None
        if hash_bytes(data) != digest:
            self._quarantine(digest, target)
        return data

    def open(self, digest: str) -> BinaryIO:
        """Open a verified object for reading (binary)."""
        return open(self.path(digest), "rb")

    def verify(self, digest: str) -> bool:
        """Whether the object is present and intact (a corrupted one is set aside)."""
        try:
            self.path(digest)
        except StoreError:
            return False
        return True

    def _quarantine(self, digest: str, target: Path) -> None:
        self._verified.pop(digest, None)
        aside = self.root / "corrupt" / f"{digest_hex(digest)}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        try:
            aside.parent.mkdir(parents=True, exist_ok=True)
            os.replace(target, aside)
            where = f"moved to {aside.relative_to(self.root)}"
        except OSError:
            where = "could not be moved aside"
        raise StoreError(f"store object {short(digest)} is corrupted (its content no longer matches "
                         f"its name; {where}); treating it as missing")

    # ------------------------------------------------------------ writing
    def _tmp(self) -> Path:
        self.ensure()
        return self.root / "tmp" / f"{os.getpid()}-{uuid.uuid4().hex}"

    def put_bytes(self, data: bytes | bytearray | memoryview) -> str:
        """Store *data*; returns its digest. Storing present content is a no-op."""
        digest = hash_bytes(data)
        if self._present_and_fresh(digest):
            return digest
        tmp = self._tmp()
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            self._publish(tmp, digest)
        finally:
            discard_file(tmp)
        return digest

    def put_file(self, path: str | os.PathLike[str], *, link: bool = True,
                 expected: str | None = None) -> str:
        """Store a copy of the file at *path*; returns the digest of what was stored.

        With *link* (the default) the copy is a reflink (copy-on-write clone)
        where the filesystem allows, which costs no time or space; otherwise
        the file is streamed and hashed in the same pass. A hard link is never
        used: the object would share the source's inode, and a program that
        rewrites the source in place (``to_csv`` does) would change the
        snapshot. If *expected* is given and already present, nothing is
        copied. The digest is always of the bytes stored, so a caller can
        compare it with *expected* to detect a file that changed meanwhile.
        """
        if expected is not None and self._present_and_fresh(expected):
            return expected
        tmp = self._tmp()
        try:
            digest = (link and self._reflink(Path(path), tmp)) or self._copy_hashing(Path(path), tmp)
            self._publish(tmp, digest)
        finally:
            discard_file(tmp)
        return digest

    def _reflink(self, src: Path, tmp: Path) -> str | None:
        try:
            import fcntl
        except ImportError:  # not on this platform
            return None
        try:
            with open(src, "rb") as fin, open(tmp, "wb") as fout:
                fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
                os.fsync(fout.fileno())
        except OSError:
            discard_file(tmp)
            return None
        # the clone is a point-in-time copy: its hash is the truth, whatever
        # happens to the source afterwards
        return hash_file(tmp)

    @staticmethod
    def _copy_hashing(src: Path, tmp: Path) -> str:
        h = xxhash.xxh3_128()
        buf = bytearray(_COPY_PIECE)
        view = memoryview(buf)
        with open(src, "rb", buffering=0) as fin, open(tmp, "wb", buffering=0) as fout:
            while True:
                n = fin.readinto(buf)
                if not n:
                    break
                h.update(view[:n])
                done = 0
                while done < n:
                    done += fout.write(view[done:n])
            os.fsync(fout.fileno())
        return PREFIX + h.hexdigest()

    def _present_and_fresh(self, digest: str) -> bool:
        """Whether a verified copy exists; refreshes its mtime so a concurrent
        gc (which spares recent objects) does not remove it under us."""
        target = self.object_path(digest)
        if not target.is_file():
            return False
        try:
            self.path(digest)
        except StoreError:
            return False
        try:
            os.utime(target)
            st = target.stat()
            self._verified[digest] = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            pass
        return True

    def _publish(self, tmp: Path, digest: str) -> None:
        target = self.object_path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o444)  # objects are immutable; guard against accidental writes
        try:
            os.link(tmp, target)
        except FileExistsError:
            # another writer got there first: keep theirs if it is intact
            try:
                ok = hash_file(target) == digest
            except FileNotFoundError:
                ok = False
            if not ok:
                os.replace(tmp, target)
        except OSError as err:
            if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            # no hard links on this filesystem: rename is atomic too, and two
            # writers of the same digest write the same bytes
            os.replace(tmp, target)
        st = target.stat()
        self._verified[digest] = (st.st_ino, st.st_size, st.st_mtime_ns)

    # ------------------------------------------------------------ listing
    def __iter__(self) -> Iterator[str]:
        """Digests of all objects present."""
        for info in self.iter_objects():
            yield info.digest

    def iter_objects(self) -> Iterator[ObjectInfo]:
        """Every object present with its size and mtime."""
        if not self.objects_dir.is_dir():
            return
        for sub in sorted(self.objects_dir.iterdir()):
            if len(sub.name) != 2 or not sub.is_dir():
                continue
            for entry in os.scandir(sub):
                name = sub.name + entry.name
                if len(name) != 32:
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue
                yield ObjectInfo(PREFIX + name, st.st_size, st.st_mtime)

    def total_size(self) -> int:
        """Bytes held by all objects."""
        return sum(info.size for info in self.iter_objects())

    def delete(self, digest: str) -> int:
        """Remove an object; returns the bytes freed (0 if it was absent)."""
        target = self.object_path(digest)
        try:
            size = target.stat().st_size
            target.unlink()
        except FileNotFoundError:
            return 0
        self._verified.pop(digest, None)
        return size

    def clean_tmp(self, older_than_s: float = 3600.0) -> int:
        """Remove temporary files left by writers that died; returns how many."""
        tmp = self.root / "tmp"
        if not tmp.is_dir():
            return 0
        cutoff = time.time() - older_than_s
        removed = 0
        for entry in os.scandir(tmp):
            try:
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except OSError:
                pass
        return removed

    # ------------------------------------------------------------ cache entries
    # An entry is named by the cell identity it serves (32 hex), plus a
    # variant suffix when it also depends on the content of files the cell
    # read: one identity may then have several entries, one per input state.
    def entry_name(self, key: str, variant: str | None = None) -> str:
        """The file stem of the cache entry for *key* (a digest) and *variant*."""
        return digest_hex(key) + (f"-{variant}" if variant else "")

    def entry_path(self, key: str, variant: str | None = None) -> Path:
        """The file of the cache entry for *key* and *variant*."""
        return self.cache_dir / (self.entry_name(key, variant) + ".json")

    def put_entry(self, key: str, entry: dict[str, Any], objects: list[str],
                  variant: str | None = None) -> str:
        """Write a cache entry atomically; *objects* are the digests it references.

        The entry carries a checksum of itself, so a damaged entry reads as
        absent. Returns the entry's name.
        """
        body = dict(entry, objects=sorted(set(objects)))
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        data = json.dumps({"check": hash_bytes(text.encode()), "entry": body},
                          sort_keys=True, separators=(",", ":")).encode()
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.entry_path(key, variant), data)
        return self.entry_name(key, variant)

    def _read_entry(self, path: Path) -> dict[str, Any] | None:
        try:
            raw = json.loads(path.read_bytes())
            body = raw["entry"]
            text = json.dumps(body, sort_keys=True, separators=(",", ":"))
            if hash_bytes(text.encode()) != raw["check"]:
                return None
            return body
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def get_entry(self, key: str, variant: str | None = None) -> dict[str, Any] | None:
        """The cache entry for *key* and *variant*, or None if absent or damaged."""
        return self._read_entry(self.entry_path(key, variant))

    def entries_for(self, key: str) -> list[tuple[str, dict[str, Any]]]:
        """Every readable entry (name, entry) for *key*, most recently used first."""
        if not self.cache_dir.is_dir():
            return []
        found = []
        for path in self.cache_dir.glob(digest_hex(key) + "*.json"):
            entry = self._read_entry(path)
            try:
                used = path.stat().st_mtime
            except FileNotFoundError:
                continue
            if entry is not None:
                found.append((used, path.stem, entry))
        return [(name, entry) for _, name, entry in sorted(found, key=lambda f: -f[0])]

    def touch_entry(self, name: str) -> None:
        """Mark a cache entry as just used (LRU order is the entries' mtime)."""
        try:
            os.utime(self.cache_dir / (name + ".json"))
        except OSError:
            pass

    def iter_entries(self) -> Iterator[tuple[str, float, dict[str, Any]]]:
        """(name, last use, entry) of every readable cache entry."""
        if not self.cache_dir.is_dir():
            return
        for path in sorted(self.cache_dir.glob("*.json")):
            try:
                used = path.stat().st_mtime
            except FileNotFoundError:
                continue
            entry = self._read_entry(path)
            if entry is not None:
                yield path.stem, used, entry

    def delete_entry(self, name: str) -> None:
        """Remove a cache entry by name (its objects stay until evicted or collected)."""
        try:
            (self.cache_dir / (name + ".json")).unlink()
        except FileNotFoundError:
            pass

    def evict_to(self, max_bytes: int, pinned: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """Drop least-recently-used cache entries until the objects fit in *max_bytes*.

        Only objects that nothing but the dropped entries references are
        deleted, and never one in *pinned* (snapshots and lock versions a
        lock file relies on): those stay even if the cap cannot be met.
        Returns the names of the entries dropped.
        """
        sizes = {info.digest: info.size for info in self.iter_objects()}
        total = sum(sizes.values())
        if total <= max_bytes:
            return []
        entries = sorted(self.iter_entries(), key=lambda e: e[1])
        refs: dict[str, int] = {}
        for _, _, entry in entries:
            for digest in entry.get("objects", ()):
                refs[digest] = refs.get(digest, 0) + 1
        dropped = []
        for key, _, entry in entries:
            if total <= max_bytes:
                break
            self.delete_entry(key)
            dropped.append(key)
            for digest in entry.get("objects", ()):
                refs[digest] -= 1
                if refs[digest] == 0 and digest not in pinned and digest in sizes:
                    total -= self.delete(digest)
        return dropped

    # ------------------------------------------------------------ history
    # One index per lock (history.py decides the key), one JSON line per kept version.
    def key_base(self, lock_path: Path) -> Path:
        """The folder history keys are relative to: the store's own folder."""
        return self.root.absolute().parent

    def history_index(self, key: str) -> Path:
        return self.history_dir / (key + ".jsonl")

    def append_history(self, key: str, line: dict[str, Any]) -> None:
        """Add one kept version to a lock's history (called under the lock's file lock)."""
        index = self.history_index(key)
        index.parent.mkdir(parents=True, exist_ok=True)
        # one write() of one line on an O_APPEND file: whole lines, never torn
        fd = os.open(index, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, (json.dumps(line, sort_keys=True) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def read_history(self, key: str) -> list[dict[str, Any]]:
        """The kept versions of a lock's history, oldest first."""
        try:
            text = self.history_index(key).read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError):
            return []
        out = []
        for line in text.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash: skip it, keep the rest
            if isinstance(item, dict) and isinstance(item.get("object"), str):
                out.append(item)
        return out

    def history_keys(self) -> list[str]:
        """The keys of every history in the store."""
        if not self.history_dir.is_dir():
            return []
        return sorted(p.name[: -len(".jsonl")] for p in self.history_dir.glob("*.jsonl"))

    def delete_history(self, key: str) -> None:
        """Remove a lock's history index (its objects stay until collected)."""
        try:
            self.history_index(key).unlink()
        except FileNotFoundError:
            pass


def discard_file(path: Path) -> None:
    """Remove a temporary file of the store's if it is there (read-only or not)."""
    try:
        os.chmod(path, 0o600)
        os.unlink(path)
    except OSError:
        pass


def parse_size(text: str) -> int:
    """``"1GiB"``, ``"500M"``, ``"2e9"`` → bytes (UsageError-free: ValueError on nonsense)."""
    units = {"": 1, "b": 1, "k": 1 << 10, "kb": 10**3, "kib": 1 << 10, "m": 1 << 20, "mb": 10**6,
             "mib": 1 << 20, "g": 1 << 30, "gb": 10**9, "gib": 1 << 30, "t": 1 << 40, "tb": 10**12,
             "tib": 1 << 40}
    s = text.strip().lower().replace(" ", "")
    i = len(s)
    while i and s[i - 1].isalpha():
        i -= 1
    number, unit = s[:i], s[i:]
    if unit not in units or not number:
        raise ValueError(f"not a size: {text!r} (e.g. 500MB, 1GiB)")
    return int(float(number) * units[unit])


def format_size(n: int) -> str:
    """Bytes as a short human-readable size."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


__all__ = ["Store", "ObjectInfo", "discard_file", "store_for", "open_store", "is_url", "register_url_opener", "digest_hex",
           "short", "parse_size", "format_size",
           "DEFAULT_STORE_DIR"]
