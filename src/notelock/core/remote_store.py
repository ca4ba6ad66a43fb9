"""A team store on object storage: the content store behind any fsspec URL.

``NOTELOCK_STORE=s3://bucket/prefix`` (or ``gs://``, ``az://``, ``file://``,
any URL fsspec knows) keeps objects, cache entries and lock history in
object storage, with the same layout as a local store under the prefix::

    objects/ab/cdef…            one object per content address
    cache/<32 hex>[-v].json     cache entries
    history/<key>/<ns>-<id>.json  one object per kept lock version (no appends)
    tmp/<hex>-<id>              uploads in flight

A local **read-through tier** (``NOTELOCK_STORE_CACHE``, by default under
``~/.cache/notelock/stores/``) is an ordinary :class:`~notelock.core.store.Store`:
an object is fetched once, verified by hash, and read locally from then on.

Writes are atomic on object stores: an object is streamed to a unique
temporary key, then published under its content address by a server-side
copy (S3 ``CopyObject``: the final key appears whole or not at all) or a
rename. A writer killed mid-upload leaves at most an unpublished temporary
key, which the next writer of the same content ignores and ``notelock gc``
removes. Two machines writing the same object write the same bytes, so the
last copy wins harmlessly; every read is verified, so a damaged object is
reported, never used.

Credentials come from where the storage library looks (the environment,
``~/.aws``, instance roles…); the URL shown in every message has any
credential removed.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import xxhash

from . import protocol
from .errors import StoreError
from .hashing import PREFIX
from .secrets import redact_text, redact_url
from .store import ObjectInfo, Store, digest_hex, discard_file, open_store, register_url_opener, short

_PIECE = 8 << 20  # upload and download in 8 MiB pieces (S3 multipart parts are ≥ 5 MiB)
_T = TypeVar("_T")


def local_tier(label: str, environ: dict[str, str] | None = None) -> Path:
    """Where the local copies of a remote store's objects go."""
    env = os.environ if environ is None else environ
    configured = protocol.setting("NOTELOCK_STORE_CACHE", env)
    if configured:
        base = Path(configured).expanduser()
    else:
        base = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "notelock" / "stores"
    scheme = label.split("://", 1)[0]
    return base / f"{scheme}-{xxhash.xxh3_64_hexdigest(label.encode())}"


def _timestamp(info: dict[str, Any]) -> float:
    for key in ("LastModified", "last_modified", "mtime", "updated", "created", "creation_time"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, _dt.datetime):
            return value.timestamp()
        try:
            return _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError:
            continue
    return time.time()


class RemoteStore(Store):
    """A content store at an fsspec URL, read through a local :class:`Store` tier.

    Reading and writing objects behave as for a local store (verified reads,
    atomic writes); listing, deleting and the cache entries and history
    operate on the remote store, which is the truth. A size cap
    (``NOTELOCK_STORE_MAX_BYTES``) applies to the local tier only.
    """

    def __init__(self, url: str, local_root: str | os.PathLike[str] | None = None,
                 environ: dict[str, str] | None = None, **storage_options: Any):
        self.url = url.rstrip("/")
        self.label = redact_url(self.url)
        self.local = Store(local_root if local_root is not None else local_tier(self.label, environ))
        super().__init__(self.local.root)
        self._storage_options = storage_options
        self._fs: Any = None
        self._base = ""
        self._published: set[str] = set()

    def __repr__(self) -> str:
        return f"RemoteStore({self.label!r})"

    @property
    def spec(self) -> str:
        return self.url

    @property
    def where(self) -> str:
        return self.label

    # ------------------------------------------------------------ the remote side
    @property
    def fs(self) -> Any:
        if self._fs is None:
            self._fs, self._base = self._remote("open", lambda: _url_to_fs(self.url, self._storage_options),
                                               missing=False)
        return self._fs

    def key(self, *parts: str) -> str:
        """The remote path of *parts* under the store's prefix."""
        self.fs  # noqa: B018 - resolves the prefix
        return "/".join([self._base.rstrip("/"), *parts])

    def object_key(self, digest: str) -> str:
        hx = digest_hex(digest)
        return self.key("objects", hx[:2], hx[2:])

    def _remote(self, action: str, call: Callable[[], _T], missing: bool = True) -> _T:
        """Run one remote operation; any failure becomes one line naming the store
        (FileNotFoundError is passed on when *missing* says the caller handles it)."""
        try:
            return call()
        except StoreError:
            raise
        except FileNotFoundError as err:
            if missing:
                raise
            text = " ".join(str(err).split())[:200] or "not found"
            raise StoreError(f"remote store {self.label}: {action} failed: {redact_text(text)}") from None
        except Exception as err:  # noqa: BLE001 - storage libraries raise many kinds
            text = " ".join(str(err).split())[:200] or type(err).__name__
            raise StoreError(f"remote store {self.label}: {action} failed: {redact_text(text)}") from None

    def _info(self, key: str) -> dict[str, Any] | None:
        # never from a listing cached earlier: another machine may have written since
        self.fs.invalidate_cache(key)
        try:
            return self._remote("look-up", lambda: self.fs.info(key))
        except FileNotFoundError:
            return None

    def remote_has(self, digest: str) -> bool:
        """Whether the remote store holds the object (published, not verified)."""
        if digest in self._published:
            return True
        info = self._info(self.object_key(digest))
        if info is not None and info.get("type", "file") != "directory":
            self._published.add(digest)
            return True
        return False

    def _put_remote(self, local: Path, key: str) -> None:
        """Stream *local* to a temporary key, then publish it under *key* in one step."""
        hx = key.rsplit("/", 1)[-1]
        tmp = self.key("tmp", f"{hx}-{os.getpid()}-{uuid.uuid4().hex[:12]}")

        def upload() -> None:
            self._parents(tmp, key)
            with open(local, "rb") as src, self.fs.open(tmp, "wb", block_size=_PIECE) as dst:
                while piece := src.read(_PIECE):
                    dst.write(piece)
            try:
                self.fs.mv(tmp, key)  # S3: CopyObject then delete; a filesystem: rename
            except BaseException:
                try:
                    self.fs.rm(tmp)
                except Exception:  # noqa: BLE001 - gc clears tmp/ later
                    pass
                raise

        self._remote("upload", upload, missing=False)

    def _parents(self, *keys: str) -> None:
        """Create the folders of *keys* where the store has folders (a filesystem;
        object stores have none, and asking would cost a request)."""
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        if "file" in protocols or "local" in protocols:
            for key in keys:
                self.fs.makedirs(key.rsplit("/", 1)[0], exist_ok=True)

    def _fetch(self, digest: str) -> None:
        """Bring a remote object into the local tier, verified on the way."""
        key = self.object_key(digest)
        tmp = self.local._tmp()
        h = xxhash.xxh3_128()

        def download() -> None:
            with self.fs.open(key, "rb", block_size=_PIECE) as src, open(tmp, "wb") as dst:
                while piece := src.read(_PIECE):
                    h.update(piece)
                    dst.write(piece)
                dst.flush()
                os.fsync(dst.fileno())

        try:
            try:
                self._remote("download", download)
            except FileNotFoundError:
                raise StoreError(f"store object {short(digest)} is missing from {self.label}") from None
            if PREFIX + h.hexdigest() != digest:
                raise StoreError(f"store object {short(digest)} in {self.label} is corrupted (its content "
                                 "does not match its name); treating it as missing")
            self.local._publish(tmp, digest)
        finally:
            discard_file(tmp)

    # ------------------------------------------------------------ objects
    def has(self, digest: str) -> bool:
        """Whether the remote store holds the object (a local copy alone does not count)."""
        return self.remote_has(digest)

    def size(self, digest: str) -> int:
        if self.local.has(digest):
            return self.local.size(digest)
        info = self._info(self.object_key(digest))
        if info is None:
            raise StoreError(f"store object {short(digest)} is missing from {self.label}")
        return int(info.get("size") or 0)

    def path(self, digest: str) -> Path:
        if self.local.has(digest):
            try:
                return self.local.path(digest)
            except StoreError:  # the local copy was damaged (and set aside): fetch it again
                pass
        self._fetch(digest)
        return self.local.path(digest)

    def get_bytes(self, digest: str) -> bytes:
        self.path(digest)
        return self.local.get_bytes(digest)

    def put_bytes(self, data: bytes | bytearray | memoryview) -> str:
        digest = self.local.put_bytes(data)
        self.publish(digest)
        return digest

    def put_file(self, path: str | os.PathLike[str], *, link: bool = True,
                 expected: str | None = None) -> str:
        if expected is not None and self.local.has(expected) and self.remote_has(expected):
            return expected
        digest = self.local.put_file(path, link=link, expected=expected)
        self.publish(digest)
        return digest

    def publish(self, digest: str) -> bool:
        """Upload a local-tier object unless the remote store has it; True if uploaded."""
        if self.remote_has(digest):
            return False
        self._put_remote(self.local.path(digest), self.object_key(digest))
        self._published.add(digest)
        return True

    def iter_objects(self) -> Iterator[ObjectInfo]:
        """Every object in the remote store, with its size and upload time."""
        root = self.key("objects")
        self.fs.invalidate_cache()
        try:
            found = self._remote("listing", lambda: self.fs.find(root, detail=True))
        except FileNotFoundError:
            return
        for path, info in sorted(found.items()):
            rel = path[len(root):].strip("/").split("/")
            if len(rel) != 2 or len(rel[0]) != 2 or len(rel[0] + rel[1]) != 32:
                continue
            yield ObjectInfo(PREFIX + rel[0] + rel[1], int(info.get("size") or 0), _timestamp(info))

    def delete(self, digest: str) -> int:
        key = self.object_key(digest)
        info = self._info(key)
        self.local.delete(digest)
        self._published.discard(digest)
        if info is None:
            return 0
        try:
            self._remote("delete", lambda: self.fs.rm(key))
        except FileNotFoundError:
            return 0
        return int(info.get("size") or 0)

    def clean_tmp(self, older_than_s: float = 3600.0) -> int:
        """Remove uploads left by writers that died (remote and local)."""
        removed = self.local.clean_tmp(older_than_s)
        cutoff = time.time() - older_than_s
        try:
            found = self._remote("listing", lambda: self.fs.find(self.key("tmp"), detail=True))
        except FileNotFoundError:
            return removed
        for path, info in found.items():
            if _timestamp(info) < cutoff:
                try:
                    self._remote("delete", functools.partial(self.fs.rm, path))
                    removed += 1
                except FileNotFoundError:
                    pass
        return removed

    def evict_to(self, max_bytes: int, pinned: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """The cap applies to the local tier: the remote store is the team's."""
        return self.local.evict_to(max_bytes, pinned)

    def total_size(self) -> int:
        """Bytes held in the local tier (what a size cap limits; listing the
        remote store for it on every cached cell would cost a round trip per
        thousand objects)."""
        return self.local.total_size()

    # ------------------------------------------------------------ cache entries
    def put_entry(self, key: str, entry: dict[str, Any], objects: list[str],
                  variant: str | None = None) -> str:
        name = self.local.put_entry(key, entry, objects, variant)
        self._put_remote(self.local.entry_path(key, variant), self.key("cache", name + ".json"))
        return name

    def _pull_entries(self, pattern: str) -> list[tuple[str, float]]:
        """Copy the remote entries matching *pattern* into the local tier; (name, time) of each."""
        self.fs.invalidate_cache()
        try:
            found = self._remote("listing", lambda: self.fs.glob(self.key("cache", pattern), detail=True))
        except FileNotFoundError:
            return []
        out = []
        for path, info in sorted(found.items()):
            name = path.rsplit("/", 1)[-1][: -len(".json")]
            target = self.local.cache_dir / (name + ".json")
            if not target.is_file() or target.stat().st_size != int(info.get("size") or -1):
                try:
                    data = self._remote("download", functools.partial(self.fs.cat_file, path))
                except FileNotFoundError:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                _atomic_local(target, data)
            out.append((name, _timestamp(info)))
        return out

    def get_entry(self, key: str, variant: str | None = None) -> dict[str, Any] | None:
        self._pull_entries(self.entry_name(key, variant) + ".json")
        return self.local.get_entry(key, variant)

    def entries_for(self, key: str) -> list[tuple[str, dict[str, Any]]]:
        self._pull_entries(digest_hex(key) + "*.json")
        return self.local.entries_for(key)

    def touch_entry(self, name: str) -> None:
        self.local.touch_entry(name)

    def iter_entries(self) -> Iterator[tuple[str, float, dict[str, Any]]]:
        """(name, upload time, entry) of every readable remote cache entry."""
        for name, when in self._pull_entries("*.json"):
            entry = self.local._read_entry(self.local.cache_dir / (name + ".json"))
            if entry is not None:
                yield name, when, entry

    def delete_entry(self, name: str) -> None:
        self.local.delete_entry(name)
        try:
            self._remote("delete", lambda: self.fs.rm(self.key("cache", name + ".json")))
        except FileNotFoundError:
            pass

    # ------------------------------------------------------------ history
    def key_base(self, lock_path: Path) -> Path:
        """History keys are relative to the lock's git work tree (else its folder):
        two clones of one repository share a lock's history."""
        folder = Path(lock_path).absolute().parent
        for candidate in (folder, *folder.parents):
            if (candidate / ".git").exists():
                return candidate
        return folder

    def append_history(self, key: str, line: dict[str, Any]) -> None:
        # object stores cannot append: one small object per version, named so
        # that listing order is time order
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}.json"
        data = json.dumps(line, sort_keys=True).encode()
        target = self.key("history", key, name)

        def write() -> None:
            self._parents(target)
            self.fs.pipe_file(target, data)

        self._remote("upload", write, missing=False)

    def read_history(self, key: str) -> list[dict[str, Any]]:
        self.fs.invalidate_cache()
        try:
            names = sorted(self._remote("listing", lambda: self.fs.ls(self.key("history", key), detail=False)))
        except FileNotFoundError:
            return []
        out = []
        for path in names:
            try:
                item = json.loads(self._remote("download", functools.partial(self.fs.cat_file, path)))
            except (FileNotFoundError, ValueError):
                continue
            if isinstance(item, dict) and isinstance(item.get("object"), str):
                out.append(item)
        return out

    def history_keys(self) -> list[str]:
        self.fs.invalidate_cache()
        try:
            found = self._remote("listing", lambda: self.fs.ls(self.key("history"), detail=False))
        except FileNotFoundError:
            return []
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in found)

    def delete_history(self, key: str) -> None:
        try:
            self._remote("delete", lambda: self.fs.rm(self.key("history", key), recursive=True))
        except FileNotFoundError:
            pass


def _url_to_fs(url: str, options: dict[str, Any]) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError:
        raise StoreError("a remote store needs fsspec (pip install 'notelock[team]')") from None
    try:
        fs, path = fsspec.core.url_to_fs(url, **options)
    except (ImportError, ValueError) as err:
        scheme = url.split("://", 1)[0]
        raise StoreError(f"no storage library for {scheme}:// ({' '.join(str(err).split())[:160]})") from None
    return fs, str(path)


def _atomic_local(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".nl-{uuid.uuid4().hex[:12]}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        discard_file(tmp)


register_url_opener(lambda url, environ: RemoteStore(url, environ=environ))

__all__ = ["RemoteStore", "local_tier", "open_store"]
