"""The record of one kernel session: cells, nodes, edges, and the lock built from them.

The face (the IPython magics) calls :meth:`Session.begin_cell` before a cell
runs and :meth:`Session.end_cell` after it, from the kernel's own events. For
``%%lock`` cells the session hashes what the cell reads, installs the
interceptors, and afterwards hashes what it wrote; for other cells it only
notes the source and the names read and bound (no hashing, so it is cheap).

Nothing here may break a user's cell: every step that could fail on user
data is guarded, reported once, and leaves the cell's own behaviour alone.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import sys
import tempfile
import threading
import time
import types
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from . import canonical, codeinfo, datareads, hashing, lockfile, nodes, secrets, sql
from .canonical import IncrementalDumper, to_plain
from .environment import rng_state_hash
from .errors import UsageError
from .events import EventManager
from .interceptors import READERS, InterceptorRegistry
from .lockwriter import SYNC_BYTES, LockWriter
from .producers import Producers, is_trivial

#: names the kernel itself provides; reading them is never hidden state
KERNEL_NAMES = frozenset({
    "In", "Out", "get_ipython", "exit", "quit", "display", "open", "__session__",
    "__vsc_ipynb_file__", "__file__", "__name__", "__doc__", "__builtins__", "__builtin__",
    "__package__", "__loader__", "__spec__", "_", "__", "___", "_i", "_ii", "_iii", "_oh",
    "_dh", "_sh", "_ih", "_exit_code",
})


def _measured_columns(value: Any) -> dict[str, Any] | None:
    """For a frame or a mapping holding measured times in columns named as the
    fitted-timings rule names them (``search.cv_results_`` and
    ``pd.DataFrame(search.cv_results_)``: ``mean_fit_time``,
    ``std_score_time`` …): those columns and the hash of the value without
    them, so a replay can verify everything but the clock readings."""
    if isinstance(value, dict):
        columns = [k for k in value if isinstance(k, str) and hashing.is_timing_name(k)]
        if not columns:
            return None
        timed = set(columns)

        def rest() -> Any:
            return {k: v for k, v in value.items() if k not in timed}
    else:
        pd = sys.modules.get("pandas")
        if pd is None or not isinstance(value, pd.DataFrame) or value.columns.nlevels != 1:
            return None
        columns = [c for c in value.columns if isinstance(c, str) and hashing.is_timing_name(c)]
        if not columns:
            return None

        def rest() -> Any:
            return value.drop(columns=columns)
    try:
        digest = hashing.hash_value(rest()).digest
    except Exception:  # noqa: BLE001 - an optional fact
        return None
    return {"columns": columns, "rest": digest}


def _execution_key(entry: dict[str, Any]) -> tuple[str, str]:
    """What makes two executions the same notebook cell: its id, or, for
    front ends that send none, its source (an id-less execution never
    replaces one with an id, nor the other way round)."""
    cell_id = entry.get("cell_id")
    return ("id", cell_id) if cell_id is not None else ("source", entry["source"].strip())


class Bindings:
    """A namespace's bindings at one moment: its names, in order, and the ids
    of their values (no reference to a value is held, so nothing the cell
    frees is kept alive). Comparing two moments costs a few passes in C, not
    a Python loop over the namespace, which grows with every cell."""

    __slots__ = ("names", "ids")

    def __init__(self, ns: Any = None) -> None:
        self.names: list[str] = list(ns.keys()) if ns is not None else []
        self.ids = _ids(ns, len(self.names)) if ns is not None else np.empty(0, dtype=np.uintp)

    def __bool__(self) -> bool:
        return bool(self.names)

    def changes(self, ns: Any) -> tuple[list[str], list[str]]:
        """Names bound or rebound (a different object) since, and names deleted since."""
        names = list(ns.keys())
        n = len(self.names)
        ids = _ids(ns, len(names))
        if names[:n] == self.names and ids is not None and self.ids is not None:
            # the usual case: nothing deleted, new names appended (dicts keep order)
            changed = np.flatnonzero(ids[:n] != self.ids).tolist()
            return [names[i] for i in changed] + names[n:], []
        before = dict(zip(self.names, self.ids.tolist() if self.ids is not None else ()))
        after = dict(zip(names, ids.tolist() if ids is not None else map(id, ns.values())))
        return [k for k, _ in after.items() - before.items()], list(before.keys() - after.keys())


def _ids(ns: Any, count: int) -> Any:
    try:
        return np.fromiter(map(id, ns.values()), dtype=np.uintp, count=count)
    except (ValueError, RuntimeError):  # changed while read (another thread): compare by dict
        return None


def is_internal_name(name: str) -> bool:
    """Names that belong to the kernel's bookkeeping, never to the user's computation."""
    if name in KERNEL_NAMES:
        return True
    if not name.startswith("_"):
        return False
    if name.startswith("_i") and name[2:].isdigit():
        return True
    if name.startswith("_") and name[1:].isdigit():
        return True
    return name.startswith("__") and name.endswith("__")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class CellRun:
    """What is known about the cell that is running."""

    index: int
    source: str
    code: str
    locked: bool
    options: dict[str, Any]
    facts: codeinfo.CodeFacts
    started: float
    node_id: str | None = None
    node: dict[str, Any] | None = None
    inner: list[str] = field(default_factory=list)
    ids_before: Bindings = field(default_factory=Bindings)
    #: names bound before the cell and gone after it (set with the rebound names)
    deleted: list[str] = field(default_factory=list)
    read_results: list[tuple[Any, Any]] = field(default_factory=list)
    read_values: dict[str, Any] = field(default_factory=dict)
    #: the cell node's recorded facts (writes, output, …) when the cell was
    #: served from the cache: they hold as recorded, so nothing is re-hashed
    restored: dict[str, Any] | None = None
    cell_id: str | None = None
    #: a credential written in the cell's source was removed from the record
    redacted: bool = False
    #: producers of the values the cell read (what its inner values derive from)
    read_inputs: list[str] = field(default_factory=list)
    #: what the cell printed and displayed (hashes), given by the face
    shown: dict[str, Any] | None = None


class Session:
    """Everything recorded since notelock was loaded into this kernel."""

    def __init__(self, lock_path: Path, notebook_path: Path | None, namespace: dict[str, Any], *,
                 provided: set[str] | None = None, warn: Callable[[str], None] | None = None):
        self.lock_path = Path(lock_path)
        self.notebook_path = Path(notebook_path) if notebook_path else None
        self.base_dir = (self.notebook_path.parent if self.notebook_path else self.lock_path.parent).resolve()
        self.ns = namespace
        self.provided = set(provided or ()) | set(KERNEL_NAMES)
        self.warn = warn or (lambda msg: print(msg, file=sys.stderr))
        self.cells: list[dict[str, Any]] = []
        self.nodes: dict[str, dict[str, Any]] = {}
        self.schemas: dict[str, dict[str, Any]] = {}
        self.durations: dict[str, float] = {}
        #: value → the node that produced it (object first, then content)
        self.producers = Producers()
        #: names whose values were derived from a clock (``elapsed = time.time() - t0``)
        self.timing_names: set[str] = set()
        #: a papermill run's parameters (its injected cell), recorded as the lock's parameters
        self.parameters: dict[str, Any] = {}
        #: measured times left out of fitted state hashes, by fit node
        self.fitted_timings: dict[str, dict[str, Any]] = {}
        self.started = _now()
        #: unique per session (two kernels started in the same second differ)
        self.session_id = uuid.uuid4().hex
        self.current: CellRun | None = None
        self.interceptors = InterceptorRegistry(self)
        self.imports, self.preexisting = self._classify_preexisting()
        self._warned: set[str] = set()
        self._mutex = threading.RLock()
        #: the events faces subscribe to (snapshots, cache, contracts, replay
        #: pins, lock sections, history): see notelock.core.events
        self.events = EventManager()
        self._dumper = IncrementalDumper()
        self._writer = LockWriter()
        #: one lock text made at a time (a cell's write and a timer's)
        self._write_mutex = threading.Lock()
        # what changed since the lock's copies were made (to_lock) and since its
        # text was made (write): both reuse everything else, so a write costs
        # what changed, not the length of the session
        self._out_cells: list[dict[str, Any]] = []
        self._out_nodes: dict[str, dict[str, Any]] = {}
        self._uncopied: tuple[set[int], set[str]] = (set(), set())
        self._unwritten: dict[tuple[str, ...], set[Any]] = {
            ("cells",): set(), ("nodes",): set(), ("run", "durations_s"): set()}
        #: the current execution of each notebook cell (see _execution_key)
        self._current_executions: dict[tuple[str, str], int] = {}
        self._secrets_seen: Any = None
        #: the lock files this session wrote last, by their signature (see write_lock_text)
        self._written: dict[str, Any] = {}
        self._identity = lockfile.IdentityHasher()
        #: how many current (not superseded) executions hold each node
        self._holders: dict[str, int] = {}
        self._pool: Any = None

    # ------------------------------------------------------------ preexisting state
    def _classify_preexisting(self) -> tuple[dict[str, str], list[str]]:
        imports: dict[str, str] = {}
        other: list[str] = []
        for name, value in list(self.ns.items()):
            if is_internal_name(name) or name in self.provided:
                continue
            ref = importable_reference(value)
            if ref is not None:
                imports[name] = ref
            else:
                other.append(name)
        return dict(sorted(imports.items())), sorted(other)

    # ------------------------------------------------------------ cells
    def begin_cell(self, source: str, code: str, *, locked: bool = False,
                   options: dict[str, Any] | None = None, cell_id: str | None = None) -> None:
        """Called before a cell runs. *code* is plain Python (IPython syntax transformed);
        *cell_id* is the notebook cell's id when the front end sent it."""
        if self.current is not None:  # the previous cell's end never came: close it
            self.end_cell(None, execution_count=None)
        # credentials never reach the record: environment secrets become
        # ⟨env:NAME⟩ (put back at replay), credentials written in the cell
        # ⟨redacted⟩; the identity is computed on what is recorded
        source, literal = secrets.redact_source(source)
        code = secrets.redact_source(code)[0]
        facts = codeinfo.analyze(code)
        run = CellRun(index=len(self.cells), source=source, code=code, locked=locked,
                      options=dict(options or {}), facts=facts, started=time.perf_counter(),
                      cell_id=cell_id if isinstance(cell_id, str) and cell_id else None, redacted=literal)
        self.current = run
        # bindings made at run time (inside %%time, %run, exec…) escape the
        # static analysis; comparing identities afterwards is cheap
        run.ids_before = Bindings(self.ns)
        if not locked:
            return
        try:
            self._begin_locked(run)
        except Exception as err:  # noqa: BLE001
            self.report_failure("preparing the locked cell", err)
        try:
            self.interceptors.activate(self.ns)
        except Exception as err:  # noqa: BLE001
            self.interceptors.deactivate()
            self.report_failure("installing interceptors", err)

    def _begin_locked(self, run: CellRun) -> None:
        names = [n for n in (*run.facts.reads, *run.facts.late_reads)
                 if n in self.ns and not is_internal_name(n)]
        reads: dict[str, str] = {}
        opaque: list[str] = []
        for name in names:
            value = self.ns[name]
            result = hashing.hash_value(value)
            reads[name] = result.digest
            run.read_values[name] = value
            if result.opaque:
                opaque.append(name)
        uses = codeinfo.code_uses(names, self.ns, hashing.function_code_hash)
        ident_options = {k: v for k, v in run.options.items() if k in IDENTITY_OPTIONS and v}
        run.read_inputs = self._inputs_for([(h, run.read_values[n]) for n, h in reads.items()], fallback=False)
        node: dict[str, Any] = {
            "op": "cell",
            "code": hashing.code_hash(run.code),
            "reads": reads,
            "uses": uses,
            "options": to_plain(ident_options),
            # ids of the producing nodes make identities Merkle-like: a change
            # anywhere upstream gives every node below it a new id
            "inputs": run.read_inputs,
        }
        # what is known before the cell runs (the cache's key); the identity
        # also covers the nodes recorded inside the cell, known at its end
        node["key"] = hashing.hash_json(node)
        node["cell"] = run.index
        if opaque:
            node["opaque"] = sorted(opaque)
        contract = contract_of(run.options)
        if contract:
            node["contract"] = contract
        rng = _rng_state_hash()
        if rng:
            node["rng_state"] = rng
        run.node = node
        self.events.trigger("cell_begin", run)

    def end_cell(self, error: BaseException | None, *, execution_count: int | None) -> dict[str, Any] | None:
        """Called after a cell ran (also when it raised). Returns the cell's entry."""
        run, self.current = self.current, None
        if run is None:
            return None
        self.interceptors.deactivate()
        datareads.forget()  # DuckDB queries noted in the cell: their objects are the user's again
        entry: dict[str, Any] = {
            "source": run.source,
            "execution_count": execution_count,
            "locked": run.locked,
            "reads": sorted(n for n in run.facts.reads if not is_internal_name(n)),
        }
        rebound = self._rebound(run)
        entry["writes"] = sorted({n for n in run.facts.writes if not is_internal_name(n)} | rebound)
        if error is not None:
            entry["error"] = type(error).__name__
        if run.locked and run.node is not None:
            try:
                self._finish_locked(run, entry, rebound)
            except Exception as err:  # noqa: BLE001
                self.report_failure("finishing the locked cell", err)
        if run.cell_id is not None:
            entry["cell_id"] = run.cell_id
        if run.redacted:
            entry["redacted"] = True
        params = codeinfo.injected_parameters(run.source)
        if params is not None and error is None:
            self.parameters.update(params)
        entry["source_hash"] = hashing.hash_bytes(run.source.encode("utf-8", "surrogatepass"))
        with self._mutex:
            self._supersede(entry)
            self.cells.append(entry)
            self._touch_cell(len(self.cells) - 1)
            self._identity.add(entry)
            for nid in dict.fromkeys(lockfile.iter_node_sequence([entry])):
                self._holders[nid] = self._holders.get(nid, 0) + 1
                self._touch_node(nid)
        return entry

    def _supersede(self, entry: dict[str, Any]) -> None:
        """Mark the earlier execution this one replaces: the same notebook cell
        (by cell id) or, when the front end sends no ids, the same source."""
        index = len(self.cells)
        key = _execution_key(entry)
        position = self._current_executions.get(key)
        self._current_executions[key] = index
        if position is None:
            return
        earlier = self.cells[position]
        earlier["superseded_by"] = index
        self._touch_cell(position)
        for nid in dict.fromkeys(lockfile.iter_node_sequence([earlier])):
            self._holders[nid] = self._holders.get(nid, 1) - 1
            self._touch_node(nid)

    def _unmodified_read(self, run: CellRun) -> tuple[Any, Any] | None:
        """The last read's (result, hash) when nothing can have changed it since:
        the cell's last statement is ``name = pd.read_…(…)`` itself (checked
        to really be the pandas reader), so no code ran between the reader
        returning and the cell ending. Saves hashing a fresh frame twice."""
        if not run.read_results:
            return None
        last = codeinfo.last_call_assignment(run.code)
        if last is None or last[2] not in READERS:
            return None
        _, base, func = last
        pd = sys.modules.get("pandas")
        if pd is None:
            return None
        if base is not None:
            if self.ns.get(base) is not pd:
                return None
        else:
            bound = self.ns.get(func)
            original = getattr(bound, "__notelock_original__", bound)
            if original is not getattr(pd, func, None) and bound is not getattr(pd, func, None):
                return None
        return run.read_results[-1]

    def _rebound(self, run: CellRun) -> set[str]:
        """Names bound or rebound while the cell ran (by identity, not by content)."""
        if not run.ids_before:
            return set()
        changed, run.deleted = run.ids_before.changes(self.ns)
        return {k for k in changed if not is_internal_name(k)}

    def _finish_locked(self, run: CellRun, entry: dict[str, Any], rebound: set[str]) -> None:
        node = run.node
        assert node is not None
        node["nodes"] = list(dict.fromkeys(run.inner))
        node["identity"] = lockfile.node_identity(node)
        run.node_id = lockfile.node_id("cell", node["identity"])
        if run.restored is not None:
            node.update(run.restored)
            if run.shown:  # what the restore showed: the stored outputs, as the cell first showed them
                node["shown"] = run.shown
            self._register_writes(run, entry, node["writes"])
            return
        names = sorted(rebound | {n for n in run.facts.writes if n in self.ns and not is_internal_name(n)})
        writes: dict[str, str] = {}
        kinds: dict[str, dict[str, Any]] = {}
        opaque = set(node.get("opaque", ()))
        fresh = self._unmodified_read(run)
        for name in names:
            value = self.ns[name]
            result = fresh[1] if fresh is not None and value is fresh[0] else hashing.hash_value(value)
            writes[name] = result.digest
            kinds[name] = value_kind(value)
            if result.opaque:
                opaque.add(name)
        deleted = sorted(n for n in run.deleted if n not in self.ns and not is_internal_name(n))
        node["writes"] = writes
        node["kinds"] = kinds
        if deleted:
            node["deleted"] = deleted
        if opaque:
            node["opaque"] = sorted(opaque)
        timing = self._timing_writes(run, names)
        if timing:
            node["timing"] = timing
        temporary = sorted(n for n in names if n not in timing and is_temporary_path(self.ns.get(n)))
        if temporary:
            node["temporary"] = temporary
        measured = {n: facts for n in names if n not in timing
                    and (facts := _measured_columns(self.ns.get(n))) is not None}
        if measured:
            node["timing_columns"] = measured
        if run.shown:
            node["shown"] = run.shown
        node["output"] = hashing.hash_json(writes)
        self._register_writes(run, entry, writes)

    def _timing_writes(self, run: CellRun, names: list[str]) -> list[str]:
        """Written names whose values come from a clock: a number, timedelta or
        datetime assigned from a clock call (or from such a value), in this
        cell or an earlier one."""
        derived = codeinfo.clock_derived(run.code, self.timing_names)
        found = sorted(n for n in names if n in derived and is_clock_value(self.ns.get(n)))
        self.timing_names |= set(found)
        self.timing_names -= {n for n in names if n not in found}  # rebound to something else
        return found

    def _register_writes(self, run: CellRun, entry: dict[str, Any], writes: dict[str, str]) -> None:
        node = run.node
        assert node is not None and run.node_id is not None
        nid = run.node_id
        with self._mutex:
            # the same computation again: the record holds this execution's values
            self.nodes[nid] = node
            self.durations[nid] = round(time.perf_counter() - run.started, 6)
            self._touch_node(nid)
            inner = set(run.inner)
            for name, digest in writes.items():
                value = self.ns.get(name)
                if self.producers.of_object(value) in inner:
                    continue  # produced by a call inside the cell: that node is its producer
                self.producers.add(value, digest, nid)
        entry["node"] = nid
        entry["nodes"] = list(run.inner)
        if run.options:
            entry["options"] = to_plain({k: v for k, v in run.options.items() if v})
        self.events.trigger("cell_end", run, entry, None)

    # ------------------------------------------------------------ graph
    def _inputs_for(self, values: list[tuple[str, Any]], fallback: bool = True) -> list[str]:
        """Nodes that produced these values; unknown non-trivial values come
        from the running cell (and may derive from what it recorded so far)."""
        inputs: dict[str, None] = {}
        unknown = False
        for digest, value in values:
            producer = self.producers.find(value, digest)
            if producer is not None:
                inputs.setdefault(producer, None)
            elif not is_trivial(value):
                unknown = True
        run = self.current
        if fallback and unknown and run is not None and run.node is not None:
            # a value the cell computed itself: it derives from what the cell
            # read and from what was recorded in it so far
            for nid in (*run.read_inputs, *run.inner):
                inputs.setdefault(nid, None)
        return list(inputs)

    def _add_node(self, op: str, ident_fields: dict[str, Any], facts: dict[str, Any],
                  produced: list[tuple[str, Any]], seconds: float) -> str:
        covered = {"op": op, **ident_fields}
        uncovered = sorted(set(covered) - set(lockfile.IDENTITY_KEYS[op]))
        if uncovered:  # a field the lock could not verify on load
            raise ValueError(f"{op} node fields not covered by its identity: {uncovered}")
        identity = lockfile.node_identity(covered)
        nid = lockfile.node_id(op, identity)
        node = {**covered, **facts, "identity": identity}
        run = self.current
        with self._mutex:
            # the same computation again: the record holds this execution's facts
            node["cell"] = run.index if run else len(self.cells)
            self.nodes[nid] = node
            self.durations[nid] = round(seconds, 6)
            self._touch_node(nid)
            for digest, value in produced:
                self.producers.add(value, digest, nid)
        if run is not None:
            run.inner.append(nid)
        return nid

    # ------------------------------------------------------------ imports
    def add_import(self, fields: dict[str, Any], facts: dict[str, Any], value: Any) -> str:
        """Record an ``@import_…`` node for *value*, a value another lock pins
        (see :mod:`notelock.core.compose`); returns its id. Only inside a locked cell."""
        if self.current is None or not self.current.locked:
            raise UsageError("%lock use records an import: run it inside a %%lock cell")
        return self._add_node("import", fields, facts, [(fields["content"], value)], 0.0)

    # ------------------------------------------------------------ reads
    def before_read(self, reader: str, func: Callable, args: tuple, kwargs: dict) -> dict[str, Any] | None:
        """Hash what a reader is about to read (before it reads it)."""
        # input files are hashed while the query runs, unless a policy (replay
        # pinning) must compare them before the read
        defer = None if self.events.has("before_read") else self._hash_file_async
        described = datareads.describe(reader, func, args, kwargs, self.base_dir, defer)  # Polars, DuckDB
        if described is not None:
            if described.get("_skip"):  # not a read after all (a lazy plan over frames in memory)
                return None
            if "_note" not in described:  # a DuckDB query noted, read when fetched
                self.events.trigger("before_read", described, func, args, kwargs)
            return described
        bound = nodes.bind_arguments(func, args, kwargs)
        short = reader.rsplit(".", 1)[-1]
        source_param = nodes.SOURCE_PARAMS.get(short) or next(iter(bound), None)
        source = bound.pop(source_param, None) if source_param else None
        token: dict[str, Any] = {"reader": reader}
        if reader in nodes.SQL_READERS:
            con = bound.pop("con", None)
            token["query"] = secrets.redact_source(nodes.sql_text(source))[0]
            token["connection"] = nodes.describe_connection(con)
            token["_con"] = con  # its server, described after the read (see datareads.finish)
            # PostgreSQL: the server's change counters of the tables the query reads,
            # taken before the read (a write in between shows as a change, never hides one)
            stats = sql.pg_table_stats(con, source, bound.get("params"),
                                       table=source if short == "read_sql_table" and isinstance(source, str) else None,
                                       schema=bound.get("schema") if short == "read_sql_table" else None)
            if stats is not None:
                token["_table_stats"] = stats
        else:
            # hash the file while the reader parses it (as above)
            token.update(nodes.describe_source(source, self.base_dir, defer, bound.get("storage_options")))
        token["options"] = secrets.redact_options({k: nodes.plain_option(v) for k, v in sorted(bound.items())})
        token["_source"] = source
        self.events.trigger("before_read", token, func, args, kwargs)
        return token

    def after_read(self, token: dict[str, Any], result: Any, seconds: float) -> None:
        """Record a read node once the reader returned."""
        if "_note" in token:
            datareads.remember(token, result)
            return
        future = token.pop("_content_future", None)
        if future is not None:
            token["content"] = future.result()
        datareads.settle(token)
        # both only read the frame and no user code runs meanwhile: hash it on
        # the worker thread while the schema is taken here (xxh3 and numpy
        # release the GIL)
        returned = result
        # a stream the user got (an Arrow RecordBatchReader) is described by the
        # table it was rebuilt from (see datareads), never read a second time
        result = token.pop("_value", result)
        pending = self._submit(hashing.hash_value, result)
        frame = nodes.frame_facts(result)
        hashed = pending.result()
        facts: dict[str, Any] = {"output": hashed.digest}
        run = self.current
        if run is not None:
            run.read_results.append((returned, hashed))
        if frame is not None:
            sid = nodes.schema_id(frame["schema"])
            with self._mutex:
                self.schemas.setdefault(sid, frame["schema"])
            facts.update(schema=sid, rows=frame["rows"], columns=frame["columns"])
        if hashed.opaque:
            facts["opaque"] = [hashed.reason or "output"]
        self.events.trigger("after_read", token, result, facts)
        facts.update(datareads.finish(token, hashed.digest))
        ident = {"reader": token["reader"], "options": token["options"],
                 "content": token.get("content") or hashed.digest}
        for key in ("query", "connection"):
            if key in token:
                ident[key] = token[key]
        for key in ("path", "url", "buffer", "bytes", "remote", "delta"):
            if key in token:
                facts[key] = token[key]
        ident["inputs"] = []
        self._add_node("read", ident, facts, [(hashed.digest, returned)], seconds)

    # ------------------------------------------------------------ estimators
    def before_method(self, est: Any, method: str, func: Callable, args: tuple, kwargs: dict) -> dict[str, Any]:
        """Hash an estimator and its arguments before the method runs."""
        bound = nodes.bind_arguments(func, args, kwargs)
        arg_hashes = {}
        values = []
        for name, value in bound.items():
            digest = hashing.value_hash(value)
            arg_hashes[name] = digest
            values.append((digest, value))
        state_in = hashing.value_hash(est)
        return {"est": est, "method": method, "args": arg_hashes, "values": values, "state_in": state_in,
                "fitted_in": hashing.is_fitted(est)}

    def after_method(self, token: dict[str, Any], result: Any, seconds: float) -> None:
        """Record a fit/predict/transform/score node once the method returned."""
        est, method = token["est"], token["method"]
        op = nodes.op_for_method(method)
        ident: dict[str, Any] = {"method": method, "estimator": hashing.estimator_path(est)}
        timings: dict[str, Any] = {}
        facts: dict[str, Any] = {}
        values = list(token["values"])
        produced: list[tuple[str, Any]] = []
        if op == "fit":
            ident["params"] = hashing.estimator_params(est)
            ident["args"] = token["args"]
            ident["state_in"] = token["state_in"]
            if token["fitted_in"]:
                values.append((token["state_in"], est))
            output = hashing.value_hash(est)
            facts["output"] = output
            produced.append((output, est))
            timings = hashing.fitted_timings(est)
            if result is not est:
                result_hash = hashing.value_hash(result)
                facts["result"] = result_hash
                produced.append((result_hash, result))
        else:
            ident["model"] = token["state_in"]
            ident["args"] = token["args"]
            values.append((token["state_in"], est))
            output = hashing.value_hash(result)
            facts["output"] = output
            produced.append((output, result))
        rows = nodes.result_rows(result if op != "fit" else None)
        if rows is not None:
            facts["rows"] = rows
        ident["inputs"] = self._inputs_for(values)
        nid = self._add_node(op, ident, facts, produced, seconds)
        if op == "fit" and timings:
            with self._mutex:
                self.fitted_timings[nid] = timings

    def _submit(self, func: Callable, *args: Any) -> Any:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notelock-hash")
        return self._pool.submit(func, *args)

    def _hash_file_async(self, path: Path) -> Any:
        return self._submit(hashing.hash_file, path)

    def report_failure(self, where: str, err: BaseException) -> None:
        """Say once per kind of failure that something could not be recorded."""
        key = f"{where}:{type(err).__name__}"
        if key in self._warned:
            return
        self._warned.add(key)
        self.warn(f"notelock: could not record {where}: {type(err).__name__}: {err}"
                  " (the cell itself is unaffected)")

    # ------------------------------------------------------------ the lock
    def _touch_cell(self, index: int) -> None:
        """Cell entry *index* was added or changed (call with the mutex held)."""
        self._uncopied[0].add(index)
        self._unwritten[("cells",)].add(index)

    def _touch_node(self, nid: str) -> None:
        """Node *nid* (or its duration, or whether it is current) was added or
        changed (call with the mutex held)."""
        self._uncopied[1].add(nid)
        self._unwritten[("nodes",)].add(nid)
        self._unwritten[("run", "durations_s")].add(nid)

    def touch_node(self, nid: str) -> None:
        """For faces that add or change a node in :attr:`nodes` themselves."""
        with self._mutex:
            self._touch_node(nid)

    def to_lock(self) -> dict[str, Any]:
        """The lock file contents for everything recorded so far."""
        with self._mutex:
            # copies (the caller may change them), made again only for what changed
            cells_changed, nodes_changed = self._uncopied
            if len(self._out_nodes) + len(nodes_changed - self._out_nodes.keys()) != len(self.nodes):
                # a node put in without touch_node: find it (a set difference, in C)
                for nid in self.nodes.keys() - self._out_nodes.keys():
                    self._touch_node(nid)
            for i in sorted(cells_changed):
                copy = dict(self.cells[i])
                if i < len(self._out_cells):
                    self._out_cells[i] = copy
                else:
                    self._out_cells.append(copy)
            for nid in nodes_changed:
                node = self.nodes.get(nid)
                if node is None:
                    self._out_nodes.pop(nid, None)
                else:
                    current = self._holders.get(nid, 0) > 0
                    self._out_nodes[nid] = dict(node) if current else {**node, "superseded": True}
            cells_changed.clear()
            nodes_changed.clear()
            data: dict[str, Any] = {
                "notelock": lockfile.FORMAT_VERSION,
                "identity": self._identity.digest(),
                "cells": list(self._out_cells),
                "nodes": dict(self._out_nodes),
                "schemas": dict(self.schemas),
                "session": {"imports": self.imports, "preexisting": self.preexisting,
                            "provided": sorted(n for n in self.provided if not is_internal_name(n))},
                "rules": {"hashing": hashing.RULES_VERSION, "fitted_state": [hashing.TIMING_RULE]},
                "run": {"started": self.started, "updated": _now(), "session": self.session_id,
                        "durations_s": dict(self.durations), "notelock": _version()},
            }
            if self.parameters:
                data["parameters"] = to_plain(dict(self.parameters))
            if self.fitted_timings:
                # measured times the fitted-state rule leaves out of identities
                data["run"]["fitted_timings"] = {k: dict(v) for k, v in self.fitted_timings.items()}
        for callback in list(self.events.callbacks["lock_data"]):
            try:
                callback(data)
            except Exception as err:  # noqa: BLE001 - a missing section never loses the lock
                self.report_failure("a section of the lock", err)
        return data

    def write(self, path: str | Path | None = None, *, wait: bool = True) -> Path:
        """Write the lock (atomically, under the file lock) and return its path.

        The text is made here; the file is written by the session's
        :class:`~notelock.core.lockwriter.LockWriter`. With *wait* (the
        default) this returns once the file is written and raises what the
        write raised; without it, a lock whose last write was larger than
        :data:`~notelock.core.lockwriter.SYNC_BYTES` is left to finish in the
        background (see :meth:`settle`), so a cell never waits for megabytes
        to reach the disk."""
        target = Path(path) if path else self.lock_path
        with self._write_mutex:
            data = self.to_lock()
            with self._mutex:
                changed = {key: set(keys) for key, keys in self._unwritten.items()}
                for keys in self._unwritten.values():
                    keys.clear()
            pieces = self._dumper.chunks(data, changed=changed)
            # the last line of defence: never let a secret reach the file. What is
            # new is checked (every write); everything, when the environment's
            # secrets changed since the last check
            known = secrets.secret_variables()
            scan = self._dumper.fresh if known is self._secrets_seen else [b"".join(pieces).decode("utf-8")]
            self._secrets_seen = known
            if any(secrets.contains_secret(t) for t in scan):
                pieces = [canonical.dumps(secrets.redact_data(data)).encode("utf-8")]
                self._dumper = IncrementalDumper()
            on_replace = self._lock_replaced if path is None and self.events.has("lock_replaced") else None
            job = self._writer.submit(target, pieces, on_replace=on_replace, written=self._written)
        last = self._written.get(str(target))  # the signature of this session's last write of it
        if wait or last is None or last[2] <= SYNC_BYTES:
            try:
                return job.result()
            except BaseException:
                self._writer.take_failure()  # raised here: not reported again by settle
                raise
        return target

    def settle(self) -> BaseException | None:
        """Wait for the lock writes still running; the error of one that
        failed in the background since the last call, if any."""
        self._writer.wait()
        return self._writer.take_failure()

    def take_write_failure(self) -> BaseException | None:
        """The error of a background write that failed since the last call (not waiting)."""
        return self._writer.take_failure()

    def _lock_replaced(self, old: bytes) -> None:
        try:
            self.events.trigger("lock_replaced", old)
        except Exception as err:  # noqa: BLE001 - keeping history must never block the write
            self.report_failure("the previous lock version", err)


#: %%lock options that can change a cell's result and so are part of its identity
IDENTITY_OPTIONS: frozenset[str] = frozenset()


def value_kind(value: Any) -> dict[str, Any]:
    """What a replay names when a variable's value differs: its type, shape, dtype."""
    kind: dict[str, Any] = {"type": hashing.type_name(value)}
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and all(isinstance(n, int) for n in shape):
        kind["shape"] = list(shape)
    elif isinstance(value, (list, tuple, dict, set, str, bytes)):
        kind["len"] = len(value)
    dtype = getattr(value, "dtype", None)
    if dtype is not None and not callable(dtype):
        kind["dtype"] = str(dtype)
    elif hasattr(value, "dtypes") and hasattr(getattr(value, "dtypes", None), "items"):
        try:
            kind["dtypes"] = hashing.hash_json({str(k): str(v) for k, v in value.dtypes.items()})
        except Exception:  # noqa: BLE001 - a description only
            pass
    return kind


def is_clock_value(value: Any) -> bool:
    """Values a clock gives: numbers, timedeltas, datetimes (and their NumPy/pandas forms)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, _dt.timedelta, _dt.datetime)):
        return True
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, (np.number, np.datetime64, np.timedelta64)):
        return True
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, (pd.Timedelta, pd.Timestamp))


def is_temporary_path(value: Any) -> bool:
    """A path (``str``, ``os.PathLike``, a ``tempfile.TemporaryDirectory``)
    below the temporary folder: ``tempfile.mkdtemp()`` names a new folder on
    every run, so the path itself is not a result."""
    if isinstance(value, tempfile.TemporaryDirectory):
        value = value.name
    if not isinstance(value, (str, os.PathLike)):
        return False
    try:
        path = os.fspath(value)
    except TypeError:
        return False
    return isinstance(path, str) and any(path.startswith(root) and len(path) > len(root)
                                         for root in _temporary_roots(tempfile.gettempdir()))


@functools.lru_cache(maxsize=4)
def _temporary_roots(folder: str) -> tuple[str, ...]:
    """The temporary folder as given and as resolved, each ending in a separator."""
    return tuple({os.path.join(f, "") for f in (folder, os.path.realpath(folder))})


def contract_of(options: dict[str, Any]) -> dict[str, Any] | None:
    """The determinism contract a cell declared, if any."""
    if options.get("nondeterministic"):
        return {"verify": "none"}
    rtol, atol = options.get("rtol"), options.get("atol")
    contract: dict[str, Any] | None = None
    if rtol or atol:
        contract = {"verify": "tolerance", "rtol": rtol or 0.0, "atol": atol or 0.0}
    names = options.get("nondeterministic_names")
    if names:
        contract = {**(contract or {"verify": "exact"}), "not_verified": sorted(names)}
    return contract


def importable_reference(value: Any) -> str | None:
    """``"pandas"`` for a module, ``"sklearn.ensemble.RandomForestClassifier"`` for an
    object importable by that path; None for data and notebook-defined objects."""
    if isinstance(value, types.ModuleType):
        return value.__name__
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or module == "__main__":
        return None
    if "<" in qualname or not isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        return None
    mod = sys.modules.get(module)
    obj: Any = mod
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return f"{module}.{qualname}" if obj is value else None


def _rng_state_hash() -> str | None:
    try:
        return rng_state_hash()
    except Exception:  # noqa: BLE001
        return None


def _version() -> str:
    return __version__
