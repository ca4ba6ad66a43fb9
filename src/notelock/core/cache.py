"""The cell cache: a ``%%lock --cache`` cell whose identity was computed before
is restored from the store instead of running again.

The key is the cell node's identity: its normalised code, the content of
every variable it reads, the code of the notebook functions it calls and
the ids of the nodes upstream. Files the cell body reads are not known
before it runs, so the entry records the cell's read nodes and a lookup
re-hashes those files first: if any changed (or a package that made the
stored values changed version) the entry does not apply and the cell runs.
A cell that reads from SQL or a URL is not cached at all: its source cannot
be checked without running the query, and a cache that might be stale is
worse than none.

An entry (``cache/<identity hex>.json`` in the store) lists the variables
the cell bound (and the variables it read and modified in place), each a
pickled object in the store; the captured outputs; the last expression's
value; the nodes recorded inside the cell; the seconds the run took. A
restore copies those nodes into the session, so the lock is the same
whether or not the cache served.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import pickle
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import nodes as _nodes
from . import secrets
from .errors import StoreError
from .hashing import hash_json
from .store import Store, short

ENTRY_VERSION = 1
#: read node fields that mean the source can only be checked by reading it again
_UNCHECKABLE = ("query", "url")


class Uncacheable(Exception):
    """A cell's results cannot be cached; ``str(err)`` is a one-line reason."""


@dataclass
class Restore:
    """Everything needed to serve a cell from the cache, loaded and verified."""

    key: str
    entry: dict[str, Any]
    values: dict[str, Any]
    outputs: list[dict[str, Any]]
    result: Any = None
    has_result: bool = False
    result_display: dict[str, Any] | None = None


@dataclass
class Miss:
    """No usable entry; *reason* is set when an entry existed but did not apply."""

    reason: str | None = None


# ---------------------------------------------------------------- values


def dump_value(name: str, value: Any) -> tuple[bytes, str]:
    """Serialise one variable for the store: ``(bytes, format)``.

    Modules are stored by name; everything else by pickle protocol 5, which
    round-trips DataFrames, arrays and scikit-learn estimators exactly.
    Raises :class:`Uncacheable` naming the variable when it cannot be stored
    (open connections, generators, lambdas, functions and classes defined in
    the notebook, which pickle would store by a name a fresh kernel lacks).
    """
    if isinstance(value, types.ModuleType):
        return value.__name__.encode(), "module"
    if isinstance(value, (types.FunctionType, type)) and getattr(value, "__module__", None) == "__main__":
        kind = "class" if isinstance(value, type) else "function"
        raise Uncacheable(f"variable {name!r} is a {kind} defined in the notebook")
    try:
        data = pickle.dumps(value, protocol=5)
    except Exception as err:  # noqa: BLE001 - pickle raises many kinds
        raise Uncacheable(f"variable {name!r} ({type(value).__module__}.{type(value).__qualname__}) "
                          f"cannot be stored: {' '.join(str(err).split())[:120]}") from None
    return data, "pickle"


def load_value(data: bytes, fmt: str) -> Any:
    """The inverse of :func:`dump_value`."""
    if fmt == "module":
        return importlib.import_module(data.decode())
    if fmt == "pickle":
        return pickle.loads(data)  # noqa: S301 - the store is as trusted as the notebook itself
    raise StoreError(f"unknown cache format {fmt!r}")


def package_versions(values: list[Any]) -> dict[str, str]:
    """Versions of the packages whose types the values are (a stored model is
    only restored into the version of scikit-learn that pickled it)."""
    out: dict[str, str] = {"python": "%d.%d.%d" % sys.version_info[:3]}
    for value in values:
        for klass in type(value).__mro__[:3]:
            top = (getattr(klass, "__module__", "") or "").split(".", 1)[0]
            if top in ("builtins", "__main__", "") or top in out:
                continue
            version = getattr(sys.modules.get(top), "__version__", None)
            if isinstance(version, str):
                out[top] = version
    return out


def _versions_differ(recorded: dict[str, str]) -> str | None:
    for top, version in recorded.items():
        now: str | None
        if top == "python":
            now = "%d.%d.%d" % sys.version_info[:3]
        else:
            try:
                now = getattr(importlib.import_module(top), "__version__", None)
            except Exception:  # noqa: BLE001
                now = None
        if now != version:
            return f"{top} is {now or 'missing'}, the entry was made with {version}"
    return None


# ---------------------------------------------------------------- recording


@dataclass
class Outcome:
    """What a cached cell produced, gathered by the face after it ran."""

    key: str
    node_id: str
    node: dict[str, Any]
    inner: list[str]
    nodes: dict[str, dict[str, Any]]
    schemas: dict[str, dict[str, Any]]
    values: dict[str, Any]
    outputs: list[dict[str, Any]]
    seconds: float
    base_dir: Path
    result: Any = None
    result_display: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def file_checks(outcome: Outcome) -> list[dict[str, str]]:
    """The files the cell read with their content hashes (re-hashed on lookup).

    Raises :class:`Uncacheable` for a read that cannot be checked cheaply.
    """
    checks = []
    for nid in outcome.inner:
        node = outcome.nodes.get(nid, {})
        if node.get("op") != "read":
            continue
        if any(k in node for k in _UNCHECKABLE):
            what = "a SQL query" if "query" in node else "a URL"
            raise Uncacheable(f"it reads {what}, which cannot be checked for changes without running it")
        path = node.get("path")
        if path is None:
            continue  # a buffer: its content comes from variables the identity covers
        full = Path(path) if Path(path).is_absolute() else outcome.base_dir / path
        checks.append({"path": str(full), "content": node.get("content", "")})
    return checks


def save(store: Store, outcome: Outcome) -> dict[str, Any]:
    """Store a cell's outcome under its identity; returns the entry.

    Raises :class:`Uncacheable` (nothing is stored) when some value or read
    cannot be cached.
    """
    checks = file_checks(outcome)
    dumped = {name: dump_value(name, value) for name, value in outcome.values.items()}
    try:
        outputs_blob = pickle.dumps(outcome.outputs, protocol=5)
    except Exception as err:  # noqa: BLE001
        raise Uncacheable(f"its displayed outputs cannot be stored: {err}") from None
    # the store must never hold a secret either
    for name, (data, _fmt) in dumped.items():
        held = secrets.contains_secret_bytes(data)
        if held:
            raise Uncacheable(f"variable {name!r} holds a secret ({held})")
    held = secrets.contains_secret_bytes(outputs_blob + json.dumps(outcome.result_display or {}).encode())
    if held:
        raise Uncacheable(f"its output shows a secret ({held})")
    result_ref = None
    if outcome.result is not None:
        try:
            result_ref = {"object": store.put_bytes(pickle.dumps(outcome.result, protocol=5))}
        except Exception:  # noqa: BLE001 - shown again from its rich display
            result_ref = None
    objects = []
    variables = {}
    for name, (data, fmt) in dumped.items():
        digest = store.put_bytes(data)
        variables[name] = {"object": digest, "format": fmt}
        objects.append(digest)
    outputs = store.put_bytes(outputs_blob)
    objects.append(outputs)
    if result_ref:
        objects.append(result_ref["object"])
    facts = {k: outcome.node[k] for k in ("writes", "output", "opaque", "deleted") if k in outcome.node}
    entry = {
        "version": ENTRY_VERSION,
        "identity": outcome.key,
        "node_id": outcome.node_id,
        "facts": facts,
        "inner": list(outcome.inner),
        "nodes": {nid: outcome.nodes[nid] for nid in dict.fromkeys(outcome.inner) if nid in outcome.nodes},
        "schemas": outcome.schemas,
        "checks": checks,
        "variables": variables,
        "outputs": outputs,
        "result": result_ref,
        "result_display": outcome.result_display,
        "seconds": round(outcome.seconds, 3),
        "environment": package_versions(list(outcome.values.values())),
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    }
    # one entry per state of the files read: reverting a file finds its entry again
    variant = hash_json(checks).split(":", 1)[1][:16] if checks else None
    store.put_entry(outcome.key, entry, objects, variant)
    return entry


# ---------------------------------------------------------------- lookup


def lookup(store: Store, key: str) -> Restore | Miss:
    """Find and load the entry for *key* (a cell identity), checking that it applies.

    Every object is read and verified here, before the cell would run, so a
    missing or corrupted object makes a miss (with the reason) rather than
    a half-restored cell.
    """
    reason = None
    for name, entry in store.entries_for(key):
        found = _try_entry(store, key, entry)
        if isinstance(found, Restore):
            store.touch_entry(name)
            return found
        reason = reason or found.reason
    return Miss(reason)


def _try_entry(store: Store, key: str, entry: dict[str, Any]) -> Restore | Miss:
    if entry.get("version") != ENTRY_VERSION or entry.get("identity") != key:
        return Miss()
    for check in entry.get("checks", ()):
        path = Path(check["path"])
        try:
            now = _nodes.describe_source(path, None).get("content")
        except OSError:
            now = None
        if now is None:
            return Miss(f"{path.name} is gone")
        if now != check["content"]:
            return Miss(f"{path.name} changed")
    differ = _versions_differ(entry.get("environment", {}))
    if differ:
        return Miss(differ)
    try:
        values = {name: load_value(store.get_bytes(v["object"]), v["format"])
                  for name, v in entry.get("variables", {}).items()}
        outputs = pickle.loads(store.get_bytes(entry["outputs"]))  # noqa: S301
        restore = Restore(key, entry, values, outputs, result_display=entry.get("result_display"))
        if entry.get("result"):
            restore.result = pickle.loads(store.get_bytes(entry["result"]["object"]))  # noqa: S301
            restore.has_result = True
    except StoreError as err:
        return Miss(str(err))
    except Exception as err:  # noqa: BLE001 - unpickling can fail in many ways
        return Miss(f"a stored value could not be loaded: {type(err).__name__}: {err}")
    return restore


def adopt(session: Any, run: Any, entry: dict[str, Any]) -> None:
    """Put the nodes recorded inside the cell on its first run into *session*,
    as a real run would have recorded them, and give *run* the cell node's
    recorded facts (``writes``, ``output``) so they are not computed again."""
    with session._mutex:
        for sid, schema in entry.get("schemas", {}).items():
            session.schemas.setdefault(sid, schema)
        for nid in entry.get("inner", ()):
            node = entry["nodes"].get(nid)
            if node is None:
                continue
            if nid not in session.nodes:
                session.nodes[nid] = dict(node, cell=run.index)
            for key in ("output", "result"):
                if node.get(key):
                    session.producers.add_content(node[key], nid)
            run.inner.append(nid)
    run.restored = dict(entry.get("facts", {}))


def describe_hit(entry: dict[str, Any]) -> str:
    """The one line a restore prints."""
    return f"restored {entry.get('node_id', short(entry.get('identity', '')))} from cache " \
           f"(saved {float(entry.get('seconds', 0.0)):.1f} s)"


__all__ = ["Uncacheable", "Restore", "Miss", "Outcome", "save", "lookup", "adopt", "dump_value",
           "load_value", "describe_hit", "package_versions"]
