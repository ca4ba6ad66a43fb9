"""The lock file: naming, identity, validation, and atomic reading and writing.

A lock is held as plain JSON data (dicts and lists) rather than a tree of
classes: every face (REST, CLI, sidebar) wants JSON anyway, and one validator
on load gives precise errors in one place. The format is documented field by
field in docs/lockfile.md.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import stat
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import xxhash

from . import canonical, lockschema, protocol
from .errors import LockFileError, LockNotFound
from .hashing import code_hash, hash_bytes, hash_json

FORMAT_VERSION = 2
LOCK_SUFFIX = ".lock.json"
DEFAULT_LOCK_NAME = "notelock.lock.json"
HASH_RE = re.compile(r"^xxh3_128:[0-9a-f]{32}$")
NODE_ID_RE = re.compile(r"^@([a-z_]+)_([0-9a-f]{12})$")
SCHEMA_ID_RE = re.compile(r"^schema_[0-9a-f]{12}$")
OPS = ("read", "fit", "predict", "transform", "score", "cell", "import")


def lock_path_for(notebook_path: str | os.PathLike[str]) -> Path:
    """The lock file that belongs beside a notebook: ``fraud.ipynb`` → ``fraud.lock.json``."""
    path = Path(notebook_path)
    name = path.name[: -len(".ipynb")] if path.name.endswith(".ipynb") else path.stem
    return path.with_name(name + LOCK_SUFFIX)


#: the fields of a node its identity covers, by op; every other field is a
#: fact about the run (rows, output, snapshot, timings…). A lock whose covered
#: fields no longer hash to the recorded identity was edited by hand.
IDENTITY_KEYS: dict[str, tuple[str, ...]] = {
    "cell": ("op", "code", "reads", "uses", "options", "inputs", "nodes"),
    "read": ("op", "reader", "options", "content", "query", "connection", "inputs"),
    "fit": ("op", "method", "estimator", "params", "args", "state_in", "inputs"),
    "predict": ("op", "method", "estimator", "model", "args", "inputs"),
    "transform": ("op", "method", "estimator", "model", "args", "inputs"),
    "score": ("op", "method", "estimator", "model", "args", "inputs"),
    "import": ("op", "source", "node", "content", "inputs"),
}


def identity_fields(node: dict[str, Any]) -> dict[str, Any]:
    """The part of *node* its identity covers."""
    keys = IDENTITY_KEYS.get(node.get("op", ""), ())
    return {k: node[k] for k in keys if k in node}


def node_identity(node: dict[str, Any]) -> str:
    """The identity of a node: the hash of the fields it covers."""
    return hash_json(identity_fields(node))


def make_node(op: str, fields: dict[str, Any], facts: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """``(id, node)`` for a node of *op* whose identity covers *fields* (and
    *facts* beside them): how the recorder builds nodes, for tools and tests."""
    node = {"op": op, **fields}
    node["identity"] = node_identity(node)
    node.update(facts or {})
    return node_id(op, node["identity"]), node


def node_id(op: str, identity: str) -> str:
    """The readable id of a node: ``@<op>_<first 12 hex of its identity>``."""
    return f"@{op}_{identity.split(':', 1)[1][:12]}"


def lock_identity(cells: list[dict[str, Any]]) -> str:
    """The identity of the computation: a hash of node ids in execution order.

    Only locked cells contribute (their ``@cell_`` node, then the nodes
    recorded inside them), so timestamps, paths, workflow and environment
    never change it.
    """

    return hash_json(list(iter_node_sequence(cells)))


class IdentityHasher:
    """:func:`lock_identity`, kept up to date cell by cell (cells are only ever
    appended, so the hash of the node sequence grows with them)."""

    def __init__(self) -> None:
        self._h = xxhash.xxh3_128(b"[")
        self._first = True

    def add(self, cell: dict[str, Any]) -> None:
        for nid in iter_node_sequence([cell]):
            self._h.update((b"" if self._first else b",") + json.dumps(nid).encode())
            self._first = False

    def digest(self) -> str:
        h = self._h.copy()
        h.update(b"]")
        return "xxh3_128:" + h.hexdigest()


def iter_node_sequence(cells: list[dict[str, Any]]) -> Iterator[str]:
    """Node ids in execution order, repeats included (re-executions count)."""
    for cell in cells:
        if cell.get("node"):
            yield cell["node"]
        yield from cell.get("nodes", ())


def ordered_node_ids(lock: dict[str, Any]) -> list[str]:
    """Distinct node ids in the order they were first recorded."""
    seen: dict[str, None] = {}
    for nid in iter_node_sequence(lock.get("cells", [])):
        seen.setdefault(nid, None)
    for nid in lock.get("nodes", {}):  # nodes no cell names still show, last
        seen.setdefault(nid, None)
    return list(seen)


# ---------------------------------------------------------------- validation


class _Invalid(Exception):
    def __init__(self, where: str, what: str):
        super().__init__(f"{where}: {what}")


def _expect(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise _Invalid(where, what)


def _expect_type(value: Any, types: type | tuple[type, ...], where: str) -> None:
    if isinstance(types, type):
        types = (types,)
    names = " or ".join({dict: "object", list: "array", str: "string", int: "integer",
                         bool: "boolean", float: "number", type(None): "null"}[t] for t in types)
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    _expect(ok, where, f"expected {names}, got {type(value).__name__ if value is not None else 'null'}")


def _check_hash(value: Any, where: str) -> None:
    _expect_type(value, str, where)
    _expect(bool(HASH_RE.match(value)), where, f"not an xxh3_128 hash: {value[:60]!r}")


def validate_lock(data: Any, name: str = "lock file") -> dict[str, Any]:
    """Check *data* against format version 1 and return it.

    Raises :class:`LockFileError` with one line naming *name* and the first
    offending field, e.g. ``fraud.lock.json: nodes["@fit_…"].inputs: unknown node @read_…``.
    """
    try:
        _validate(data)
    except _Invalid as err:
        raise LockFileError(f"{name}: {err}") from None
    return data


def _validate(data: Any) -> None:
    _expect_type(data, dict, "top level")
    _expect("notelock" in data, "notelock", "missing format version (not a notelock lock file?)")
    version = data["notelock"]
    _expect_type(version, int, "notelock")
    _expect(version == FORMAT_VERSION, "notelock",
            f"format version {version} is not supported (this notelock reads version {FORMAT_VERSION};"
            " rebuild the lock with: notelock lock NOTEBOOK.ipynb)")
    try:
        lockschema.validate(data)
    except lockschema.SchemaError as err:
        raise _Invalid(err.where, err.what) from None
    nodes = data["nodes"]
    schemas = data.get("schemas", {})
    for nid, node in nodes.items():
        where = f"nodes[{json.dumps(nid)}]"
        match = NODE_ID_RE.match(nid)
        _expect(match is not None and match.group(1) == node["op"], where, f"id does not match op {node['op']!r}")
        _expect(node_id(node["op"], node["identity"]) == nid, f"{where}.identity",
                "does not match the node id (edited by hand?)")
        _expect(node_identity(node) == node["identity"], where,
                "its content no longer matches its identity (edited by hand?): one of "
                + ", ".join(IDENTITY_KEYS.get(node["op"], ())) + " changed")
        if node["op"] == "cell" and "key" in node:
            before = {k: v for k, v in identity_fields(node).items() if k != "nodes"}
            _expect(hash_json(before) == node["key"], f"{where}.key", "does not match the cell's content (edited by hand?)")
        for inp in node.get("inputs", []):
            _expect(inp in nodes, f"{where}.inputs", f"unknown node {inp}")
        for inner in node.get("nodes", []):
            _expect(inner in nodes, f"{where}.nodes", f"unknown node {inner}")
        if "schema" in node:
            _expect(node["schema"] in schemas, f"{where}.schema", f"unknown schema {node['schema']}")
    for i, cell in enumerate(data["cells"]):
        where = f"cells[{i}]"
        if "source_hash" in cell:
            _expect(hash_bytes(cell["source"].encode("utf-8", "surrogatepass")) == cell["source_hash"],
                    f"{where}.source", "does not match its recorded hash (edited by hand?)")
        if cell.get("node") is not None:
            _expect(cell["node"] in nodes, f"{where}.node", f"unknown node {cell['node']}")
            node = nodes[cell["node"]]
            if node["op"] == "cell":
                _expect(list(node.get("nodes", [])) == list(dict.fromkeys(cell.get("nodes", []))), f"{where}.nodes",
                        "differ from the nodes its cell node covers (edited by hand?)")
                code = _python_body(cell)
                if code is not None and "code" in node:
                    _expect(code_hash(code) == node["code"], f"{where}.source",
                            "does not match the code its node recorded (edited by hand?)")
        for nid in cell.get("nodes", []):
            _expect(nid in nodes, f"{where}.nodes", f"unknown node {nid}")
    _expect(lock_identity(data["cells"]) == data["identity"], "identity",
            "does not match the recorded nodes (edited by hand?)")


def _python_body(cell: dict[str, Any]) -> str | None:
    """The plain Python a locked cell ran, when its source is plain Python (no
    IPython syntax to transform), else None."""
    source = cell["source"]
    split = protocol.split_lock_header(source)
    body = split[1] if split is not None else source
    try:
        ast.parse(body)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return body


# ---------------------------------------------------------------- reading


#: the largest lock file notelock reads (a lock of a long session is a few MB)
MAX_LOCK_BYTES = 256 << 20


def loads_lock(text: str | bytes, name: str = "lock file") -> dict[str, Any]:
    """Parse and validate lock-file text; one-line :class:`LockFileError` on failure."""
    if len(text) > MAX_LOCK_BYTES:
        raise LockFileError(f"{name}: {len(text):,} bytes, larger than a lock file can be ({MAX_LOCK_BYTES:,})")
    try:
        data = json.loads(text)
    except UnicodeDecodeError:
        raise LockFileError(f"{name}: not UTF-8 text") from None
    except json.JSONDecodeError as err:
        hint = " (truncated?)" if err.pos >= len(text) - 1 or "Expecting" in err.msg else ""
        raise LockFileError(f"{name}: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}{hint}") from None
    except RecursionError:
        raise LockFileError(f"{name}: nested too deeply to be a lock file") from None
    except ValueError as err:  # e.g. an integer of thousands of digits
        raise LockFileError(f"{name}: not a lock file: {err}") from None
    try:
        return validate_lock(data, name)
    except RecursionError:
        raise LockFileError(f"{name}: nested too deeply to be a lock file") from None


def load_lock(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate the lock file at *path* (a regular file of bounded size)."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise LockNotFound(f"{p}: no such lock file") from None
    except OSError as err:
        raise LockFileError(f"{p}: cannot read: {err.strerror or err}") from None
    if stat.S_ISDIR(st.st_mode):
        raise LockFileError(f"{p}: is a directory, not a lock file")
    if not stat.S_ISREG(st.st_mode):
        raise LockFileError(f"{p}: not a regular file (a device, pipe or socket cannot be a lock file)")
    if st.st_size > MAX_LOCK_BYTES:
        raise LockFileError(f"{p.name}: {st.st_size:,} bytes, larger than a lock file can be ({MAX_LOCK_BYTES:,})")
    try:
        with open(p, "rb") as fh:
            raw = fh.read(MAX_LOCK_BYTES + 1)
    except OSError as err:
        raise LockFileError(f"{p}: cannot read: {err.strerror or err}") from None
    if not raw.strip():
        raise LockFileError(f"{p.name}: empty file")
    return loads_lock(raw, p.name)


# ---------------------------------------------------------------- writing


#: notelock's own coordination files live here, beside the lock, out of the
#: user's way (the store's default folder)
COORDINATION_DIR = ".notelock"
#: prefix of every temporary file notelock writes beside a lock
TEMP_PREFIX = ".nl-"


def lock_sidecar(path: str | os.PathLike[str]) -> Path:
    """Where the inter-process lock of *path* lives: under ``.notelock/locks/``
    beside it, named by a hash (so a name near the file system's limit fits)."""
    target = Path(path)
    name = xxhash.xxh3_64_hexdigest(os.path.abspath(target).encode("utf-8", "surrogateescape"))
    return target.parent / COORDINATION_DIR / "locks" / f"{name}.lck"


def file_lock(path: str | os.PathLike[str], timeout: float = 30.0) -> Any:
    """An inter-process lock guarding writes of *path*.

    Raises :class:`LockFileError` when its folder cannot hold one (a read-only
    or special location); a holder that does not let go within *timeout*
    seconds is named in the error."""
    from filelock import FileLock, Timeout

    sidecar = lock_sidecar(path)
    try:
        sidecar.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise LockFileError(f"{Path(path).parent}: cannot write here: {err.strerror or err}") from None
    return _GuardedLock(FileLock(str(sidecar), timeout=timeout), Timeout, Path(path))


class _GuardedLock:
    """A file lock whose failures are one-line notelock errors."""

    def __init__(self, lock: Any, timeout_error: type[BaseException], target: Path):
        self._lock, self._timeout, self._target = lock, timeout_error, target

    def __enter__(self) -> Any:
        try:
            return self._lock.__enter__()
        except self._timeout:
            raise LockFileError(f"{self._target.name}: another process holds its write lock; try again") from None
        except OSError as err:
            raise LockFileError(f"{self._target}: cannot lock for writing: {err.strerror or err}") from None

    def __exit__(self, *exc: Any) -> Any:
        return self._lock.__exit__(*exc)


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], *, mode: int | None = None) -> Iterator[BinaryIO]:
    """A binary file that takes the place of *path* when the block ends, so
    readers see either the old file or the new one.

    A temporary file in the same folder is written, fsynced and renamed over
    the target (with the target's permissions, or *mode*, or 0644 less the
    umask for a new file); when the block raises, the temporary file is
    removed and the old file is untouched.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if mode is None:
            try:
                mode = target.stat().st_mode & 0o777
            except FileNotFoundError:
                mode = 0o644 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes | Sequence[bytes]) -> None:
    """Write *data* (bytes, or pieces written one after the other) to *path*
    atomically; see :func:`atomic_writer`."""
    with atomic_writer(path) as fh:
        if isinstance(data, (bytes, bytearray, memoryview)):
            fh.write(data)
        elif hasattr(os, "writev"):
            _write_pieces(fh.fileno(), data)
        else:
            fh.writelines(data)


def _iov_max() -> int:
    try:
        return max(16, int(os.sysconf("SC_IOV_MAX")))
    except (AttributeError, ValueError, OSError):
        return 1024


_IOV_MAX = _iov_max()


def _write_pieces(fd: int, pieces: Sequence[bytes]) -> None:
    """Write *pieces* in order with as few system calls as the OS allows
    (each one without holding the interpreter)."""
    for start in range(0, len(pieces), _IOV_MAX):
        batch = pieces[start:start + _IOV_MAX]
        done = os.writev(fd, batch)
        want = sum(map(len, batch))
        if done < want:  # a short write (a signal, a full disk): the rest one call at a time
            rest = memoryview(b"".join(batch))[done:]
            while rest:
                rest = rest[os.write(fd, rest):]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_lock(path: str | os.PathLike[str], data: dict[str, Any], *, validate: bool = True,
               on_replace: Any = None) -> Path:
    """Write *data* canonically and atomically to *path*, under the file lock.

    *on_replace*, if given, is called with the previous file's bytes before
    they are replaced (the store keeps them as history).
    """
    target = Path(path)
    if validate:
        validate_lock(data, target.name)
    return write_lock_text(target, canonical.dumps(data), on_replace=on_replace)


def build_temp_path(folder: Path) -> Path:
    """A fresh name for a build's temporary lock in *folder* (owned by this process)."""
    return folder / f"{TEMP_PREFIX}build-{os.getpid()}-{uuid.uuid4().hex[:12]}.json"


_BUILD_TEMP = re.compile(r"^\.nl-build-(\d+)-[0-9a-f]{12}\.json$")
_ATOMIC_TEMP = re.compile(r"^\.nl-.*\.tmp$")


def stale_temporaries(folder: Path, older_than_s: float = 3600.0) -> list[Path]:
    """notelock's temporary files in *folder* that nobody will finish: builds
    whose process is gone, atomic writes cut short more than an hour ago."""
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    now = time.time()
    for entry in entries:
        match = _BUILD_TEMP.match(entry.name)
        if match:
            if not _alive(int(match.group(1))):
                found.append(Path(entry.path))
        elif _ATOMIC_TEMP.match(entry.name):
            try:
                if now - entry.stat().st_mtime > older_than_s:
                    found.append(Path(entry.path))
            except OSError:
                pass
    return found


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder: Path) -> int:
    """Remove :func:`stale_temporaries`; returns the bytes freed."""
    freed = 0
    for path in stale_temporaries(folder):
        try:
            freed += path.stat().st_size
            path.unlink()
        except OSError:
            pass
    return freed


def check_target(target: Path) -> None:
    """A lock can be written to *target*: its folder exists (none is created
    by accident) and, if the file exists, it is a regular file."""
    parent = target.parent
    if not parent.is_dir():
        raise LockFileError(f"{parent}: no such folder (create it first)")
    if len(target.name.encode("utf-8", "surrogateescape")) > 255:
        raise LockFileError(f"{target.name[:40]}…: file name longer than the file system allows")
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise LockFileError(f"{target}: cannot write: {err.strerror or err}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise LockFileError(f"{target}: not a regular file; a lock is not written there")
    try:  # the folder takes new files (the write goes through a temporary one)
        fd, probe = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise LockFileError(f"{parent}: cannot write here: {err.strerror or err}") from None


def _signature(path: Path) -> tuple[int, ...] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def write_lock_text(path: str | os.PathLike[str], text: str | Sequence[bytes], *, on_replace: Any = None,
                    written: dict[str, Any] | None = None) -> Path:
    """Write already-serialised canonical lock text (a string, or its UTF-8
    pieces in order); see :func:`write_lock`.

    *on_replace* is called with the bytes of the file about to be replaced.
    A writer that passes the same *written* mapping to each of its writes is
    not handed back its own previous write (found by the file's identity,
    size and modification time, under the file lock), so that a session
    extending its lock does not read it back every time."""
    target = Path(path)
    check_target(target)
    data: bytes | Sequence[bytes] = text.encode("utf-8") if isinstance(text, str) else text
    if protocol.flag("NOTELOCK_CHECK_WRITES"):
        whole = data if isinstance(data, bytes) else b"".join(data)
        try:
            lockschema.validate(json.loads(whole))
        except lockschema.SchemaError as err:
            raise LockFileError(f"{target.name}: the lock about to be written does not match its schema: {err}") \
                from None
    with file_lock(target):
        if on_replace is not None and (written is None or _signature(target) != written.get(str(target))):
            try:
                old = target.read_bytes()
            except FileNotFoundError:
                old = None
            if old is not None and old != (data if isinstance(data, bytes) else b"".join(data)):
                on_replace(old)
        atomic_write_bytes(target, data)
        if written is not None:
            written[str(target)] = _signature(target)
    return target
