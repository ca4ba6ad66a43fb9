"""Kernel side of schema contracts, determinism contracts and pinned replays.

:func:`attach` is called once when the extension loads. It registers, on the
session's extension points:

- a read observer that compares each read's schema with the one recorded
  earlier in this session for the same source (path, URL, or connection +
  query), warns in the notebook when it changed, and raises
  :class:`~notelock.core.errors.DriftError` in strict mode (``%%lock
  --strict`` or ``%lock strict on``), stopping the cell at that read;
- cell hooks that apply the notebook-wide determinism contract (``%lock
  contract …``) and keep numeric summaries of cells declared with a
  tolerance;
- in a replay kernel (``NOTELOCK_REPLAY`` names a plan written by
  ``notelock replay``), a read policy that pins reads to the recorded data:
  a read whose source changed is served from its snapshot, or reported as
  drift and stopped when there is none. What happened is appended, one JSON
  object per line, to the plan's events file for the replay command.

No IPython imports: the magics call in with the recording object.
"""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path
from typing import Any, Callable

from .core import nodes, numeric
from .core import schema as schemas
from .core.errors import DriftError, NotelockError, StoreError, UsageError
from .core.recorder import contract_of

REPLAY_ENV = "NOTELOCK_REPLAY"


class Contracts:
    """The schema and determinism contracts of one kernel session."""

    def __init__(self, session: Any):
        self.session = session
        self.strict = False
        self.default: str | None = None
        self.seen: dict[str, tuple[dict[str, Any] | None, int | None]] = {}
        self.replay: ReplayPins | None = None

    # -- schema drift within the session
    def observe_schema(self, token: dict[str, Any], result: Any, facts: dict[str, Any]) -> None:
        """Compare a read's schema with the previous read of the same source."""
        if self.replay is not None and token.get("_replay"):
            return  # the replay compares with the recorded lock instead
        key = schemas.source_key(token)
        if key is None or "schema" not in facts:
            return
        new = (self.session.schemas.get(facts["schema"]), facts.get("rows"))
        old = self.seen.get(key)
        self.seen[key] = new
        if old is None:
            return
        change = schemas.compare(old[0], old[1], new[0], new[1])
        if not change["changed"]:
            return
        text = schemas.message(schemas.source_label(token), change)
        if self.is_strict():
            raise DriftError(text + " (strict: the cell stops here)")
        self.session.warn("notelock: " + text)

    def is_strict(self) -> bool:
        """Strict for this cell: ``%%lock --strict`` or ``%lock strict on``."""
        run = self.session.current
        return self.strict or bool(run is not None and run.options.get("strict"))

    # -- determinism contracts
    def on_cell_begin(self, run: Any) -> None:
        """Apply the notebook-wide contract to a cell that declares none."""
        if run.node is None:
            return
        if run.options.get("deterministic"):
            run.node["contract"] = {"verify": "exact"}
        elif "contract" not in run.node and self.default == "nondeterministic":
            run.node["contract"] = {"verify": "none", "declared": "notebook"}

    def on_cell_end(self, run: Any, entry: dict[str, Any], error: BaseException | None) -> None:
        """Keep numeric summaries of what a tolerance-declared cell bound."""
        node = run.node
        contract = (node or {}).get("contract") or contract_of(run.options) or {}
        if node is None or contract.get("verify") != "tolerance":
            return
        summaries = {}
        for name in node.get("writes", {}):
            try:
                summary = numeric.summarize(self.session.ns.get(name))
            except Exception:  # noqa: BLE001 - a summary is a convenience, never a failure
                summary = None
            if summary is not None:
                summaries[name] = summary
        if summaries:
            node["numeric"] = summaries

    def set_default(self, value: str) -> None:
        """``%lock contract deterministic|nondeterministic`` (recorded in the lock)."""
        if value not in ("deterministic", "nondeterministic"):
            raise UsageError("usage: %lock contract deterministic|nondeterministic")
        self.default = value
        self.session.extra_sections["contracts"] = lambda: {"default": self.default}


def attach(recording: Any, environ: dict[str, str] | os._Environ[str] = os.environ) -> Contracts:
    """Register the contracts (and, in a replay kernel, the read pins) on a recording."""
    session = recording.session
    contracts = Contracts(session)
    recording.contracts = contracts
    session.read_observers.append(contracts.observe_schema)
    session.cell_begin_hooks.append(contracts.on_cell_begin)
    session.cell_end_hooks.append(contracts.on_cell_end)
    plan_path = environ.get(REPLAY_ENV)
    if plan_path:
        pins = ReplayPins(json.loads(Path(plan_path).read_text(encoding="utf-8")), session)
        contracts.replay = pins
        session.read_policies.append(pins.policy)
        session.read_observers.append(pins.observe)
        pins.emit({"event": "attached", "mode": pins.mode})
    return contracts


# ---------------------------------------------------------------- replay pins


class ReplayPins:
    """Pins a replay's reads to the data the lock recorded."""

    def __init__(self, plan: dict[str, Any], session: Any):
        self.reads: list[dict[str, Any]] = plan.get("reads", [])
        self.mode: str = plan.get("mode", "pinned")
        self.lock_path: str = plan.get("lock", "")
        self.events: str | None = plan.get("events")
        self.store_root: str | None = plan.get("store")
        self.session = session
        self.cursor = 0
        self._store: Any = None

    def emit(self, event: dict[str, Any]) -> None:
        """Append one event for the replay command."""
        if not self.events:
            return
        with open(self.events, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event, default=str) + "\n")

    def match(self, token: dict[str, Any]) -> dict[str, Any] | None:
        """The recorded read this read replays: the next one with the same reader and source."""
        key = schemas.source_key(token)
        for i in range(self.cursor, len(self.reads)):
            entry = self.reads[i]
            if entry.get("reader") == token.get("reader") and (key is None or entry.get("key") == key):
                self.cursor = i + 1
                return entry
        return None

    def snapshot_path(self, entry: dict[str, Any]) -> Path:
        """The verified store object holding *entry*'s snapshot (StoreError if missing)."""
        if self._store is None:
            try:
                from .core.store import Store, store_for
            except ImportError:
                raise StoreError("cannot replay from a snapshot: this notelock has no content store") from None
            # the recorded lock's store, as the replay command resolved it
            self._store = Store(self.store_root) if self.store_root else store_for(Path(self.lock_path))
        return Path(self._store.path(entry["snapshot"]))

    def policy(self, token: dict[str, Any], func: Callable, args: tuple, kwargs: dict) -> None:
        """Read policy: serve a drifted input from its snapshot (pinned mode)."""
        entry = self.match(token)
        if entry is None:
            return
        token["_replay"] = entry
        if self.mode != "pinned":
            return
        if "content" in token and token.get("query") is None:
            if token["content"] == entry.get("content"):
                return
            current = _safe_call(func, args, kwargs)
            token["_current"] = current
            if entry.get("snapshot"):
                path = self._snapshot_or_stop(entry)
                token["call"] = _replace_source(func, args, kwargs, str(path))
                token["content"] = entry.get("content")
                token["_served"] = True
            else:
                token["_drifted"] = True
            return
        if token.get("query") is not None:  # SQL: the content is the result; read it first
            pins = self

            def serve() -> Any:
                from .core import hashing

                result = func(*args, **kwargs)
                if hashing.hash_value(result).digest == entry.get("content"):
                    return result
                token["_current"] = result
                if entry.get("snapshot"):
                    path = pins._snapshot_or_stop(entry)
                    token["_served"] = True
                    return _read_snapshot(path)
                token["_drifted"] = True
                return result

            token["serve"] = serve

    def _snapshot_or_stop(self, entry: dict[str, Any]) -> Path:
        try:
            return self.snapshot_path(entry)
        except NotelockError as err:
            self.emit({"event": "store_error", "node": entry.get("node"), "message": str(err)})
            err.propagate = True  # type: ignore[attr-defined] - stop the cell: the replay cannot go on
            raise

    def observe(self, token: dict[str, Any], result: Any, facts: dict[str, Any]) -> None:
        """Read observer: report drift (with the schema change) at the read."""
        entry = token.get("_replay")
        if entry is None:
            return
        served = bool(token.get("_served"))
        if self.mode == "pinned":
            drifted = served or bool(token.get("_drifted"))
        elif token.get("query") is None and "content" in token:
            drifted = token["content"] != entry.get("content")
        else:
            drifted = facts.get("output") != entry.get("output")
        if not drifted:
            return
        current = token.get("_current", result)
        frame = nodes.frame_facts(current) if current is not None else None
        if frame is not None:
            change = schemas.compare(entry.get("schema"), entry.get("rows"), frame["schema"], frame["rows"])
        else:
            change = schemas.compare(entry.get("schema"), entry.get("rows"), entry.get("schema"), entry.get("rows"))
        text = schemas.message(entry.get("label") or schemas.source_label(token), change)
        diverged = not served
        self.emit({"event": "read", "node": entry.get("node"), "position": entry.get("position"),
                   "drifted": True, "served": served, "diverged": diverged, "schema": change, "message": text})
        if served:
            self.session.warn(f"notelock: {text}: replayed from snapshot")
            return
        if self.mode == "pinned":
            raise DriftError(f"{text}; no snapshot to replay it from (record with %%lock --snapshot)")
        self.session.warn("notelock: " + text)


def _safe_call(func: Callable, args: tuple, kwargs: dict) -> Any:
    try:
        return func(*args, **kwargs)
    except Exception:  # noqa: BLE001 - only used to describe the drift
        return None


def _replace_source(func: Callable, args: tuple, kwargs: dict, source: str) -> tuple[tuple, dict]:
    if args:
        return (source, *args[1:]), dict(kwargs)
    short = getattr(func, "__name__", "")
    param = nodes.SOURCE_PARAMS.get(short)
    if param is None:
        try:
            param = next(iter(inspect.signature(func).parameters))
        except (TypeError, ValueError, StopIteration):
            param = "filepath_or_buffer"
    return args, {**kwargs, param: source}


def _read_snapshot(path: Path) -> Any:
    # the same reading as notelock.core.snapshots.read_snapshot (the index was stored too)
    import pyarrow.parquet as pq

    frame = pq.read_table(path).to_pandas()
    # a RangeIndex written with preserve_index=True comes back as integers;
    # readers such as read_sql return a RangeIndex, so give it back
    index = frame.index
    if (index.name is None and index.dtype.kind == "i" and len(index)
            and index[0] == 0 and index.is_monotonic_increasing and index.is_unique
            and index[-1] == len(index) - 1):
        import pandas as pd

        frame.index = pd.RangeIndex(len(index))
    return frame


# ---------------------------------------------------------------- %lock commands


def lock_diff(recording: Any, spec: str) -> str:
    """``%lock diff OTHER``: the semantic diff from OTHER to this session's lock."""
    from .core.diff import diff_locks, render_text

    other, name = resolve_lock(spec, base=recording.session.lock_path.parent)
    current = recording.session.to_lock()
    return render_text(diff_locks(other, current), name, "this session")


def set_strict(recording: Any, args: list[str]) -> str:
    """``%lock strict on|off``."""
    if args not in (["on"], ["off"]):
        raise UsageError("usage: %lock strict on|off")
    recording.contracts.strict = args == ["on"]
    return ("notelock: strict: a read whose schema changed stops its cell" if recording.contracts.strict
            else "notelock: strict off: schema changes are warnings")


def set_contract(recording: Any, args: list[str]) -> str:
    """``%lock contract deterministic|nondeterministic``."""
    if len(args) != 1:
        raise UsageError("usage: %lock contract deterministic|nondeterministic")
    recording.contracts.set_default(args[0])
    return f"notelock: cells are {args[0]} unless a cell declares otherwise"


def resolve_lock(spec: str, base: Path | None = None) -> tuple[dict[str, Any], str]:
    """Load a lock named as a path, a notebook, or a history spelling (``NB.ipynb~1``),
    relative to *base* when given."""
    from .core.history import resolve_lock_spec

    path = Path(spec).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    return resolve_lock_spec(str(path))


__all__ = ["attach", "Contracts", "ReplayPins", "lock_diff", "set_strict", "set_contract", "resolve_lock",
           "REPLAY_ENV"]
