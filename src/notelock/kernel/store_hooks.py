"""The kernel side of the store: snapshots, the cell cache and lock history.

:class:`StoreHooks` is attached to a recording when the extension loads. It
subscribes to the session's events: ``after_read`` (snapshots),
``cell_begin`` / ``cell_end`` (the cache) and ``lock_replaced`` (every
replaced lock version goes to the store's history).

A cache hit is found in the cell-begin hook, which IPython runs (through
``pre_run_cell``) before it parses the cell and applies
``shell.ast_transformers``; an AST transformer then swaps the cell's body
for one call that binds the stored variables, shows the captured outputs
again and returns the recorded last-expression value, which IPython
displays as the cell's result as usual. On a miss the cell runs unchanged
while its stdout, stderr and displays are teed (never suppressed), and
its results are stored after it succeeded.
"""

from __future__ import annotations

import ast
import sys
import time
from pathlib import Path
from typing import Any

from IPython import get_ipython

from ..core import cache as _cache
from ..core import hashing, protocol
from ..core import history as _history
from ..core.collect import pinned_objects
from ..core.errors import NotelockError
from ..core.snapshots import SnapshotObserver
from ..core.store import Store, format_size, is_url, open_store, parse_size, store_for
from .attached import recording_of
from .capture import Capture

#: what a swapped cell body calls: ``restore_cached()`` of this module, which
#: finds the running shell's recording (nothing is looked up by object id)
_RESTORE_CALL = f"__import__({__name__!r}, fromlist=['restore_cached']).restore_cached()"


class _SwapBody(ast.NodeTransformer):
    """Replaces the next cell's body with the restore call, once."""

    def __init__(self, hooks: StoreHooks):
        self.hooks = hooks

    def visit_Module(self, node: ast.Module) -> ast.Module:  # noqa: N802
        if self.hooks.restoring is None or self.hooks.swapped:
            return node
        self.hooks.swapped = True
        node.body = ast.parse(_RESTORE_CALL, mode="exec").body
        return node


def restore_cached() -> Any:
    """Called by a swapped cell body: bind the stored variables and show the outputs."""
    recording = recording_of(get_ipython())
    hooks = recording.store_hooks if recording is not None else None
    return hooks.apply_restore() if hooks is not None else None


class StoreHooks:
    """Snapshots, the cache and lock history for one recording (one kernel)."""

    def __init__(self, recording: Any):
        self.recording = recording
        self.shell = recording.shell
        self.session = recording.session
        self.store_override: str | None = None
        self.snapshot_all = False
        self.restoring: _cache.Restore | None = None
        self.swapped = False
        self._capture: Capture | None = None
        self._pending_run: Any = None
        self._ended: Any = None
        self._result: Any = None
        self._has_result = False
        session = self.session
        self.snapshots = SnapshotObserver(self.store, self._snapshot_enabled, recording.warn)
        self._subscriptions = (("after_read", self.snapshots), ("cell_begin", self._begin),
                               ("cell_end", self._end), ("lock_replaced", self._keep))
        for event, callback in self._subscriptions:
            session.events.register(event, callback)
        self._transformer = _SwapBody(self)
        self.shell.ast_transformers.append(self._transformer)
        self.shell.events.register("post_run_cell", self._post_run_cell)

    def close(self) -> None:
        """Detach from the shell (``%unload_ext``)."""
        self._stop_capture()
        if self._transformer in self.shell.ast_transformers:
            self.shell.ast_transformers.remove(self._transformer)
        try:
            self.shell.events.unregister("post_run_cell", self._post_run_cell)
        except ValueError:
            pass
        for event, callback in self._subscriptions:
            try:
                self.session.events.unregister(event, callback)
            except ValueError:
                pass

    # ------------------------------------------------------------ store
    def store(self) -> Store:
        """The store in use: set by ``%lock store PATH|URL``, else the lock's own."""
        if self.store_override is not None:
            return open_store(self.store_override)
        return store_for(self.session.lock_path)

    def _keep(self, old: bytes) -> None:
        try:
            _history.keep_version(self.session.lock_path, old, store=self.store(),
                                  session=self.session.session_id)
        except Exception as err:  # noqa: BLE001 - keeping history must never block the write
            self.session.report_failure("the previous lock version", err)

    def _snapshot_enabled(self) -> bool:
        run = self.session.current
        return self.snapshot_all or bool(run is not None and run.options.get("snapshot"))

    # ------------------------------------------------------------ cache
    def _reset(self) -> None:
        self._stop_capture()
        self.restoring = None
        self.swapped = False
        self._pending_run = self._ended = self._result = None
        self._has_result = False

    def _stop_capture(self) -> list[dict[str, Any]]:
        capture, self._capture = self._capture, None
        return capture.stop() if capture is not None else []

    def _begin(self, run: Any) -> None:
        self._reset()
        if not run.options.get("cache") or run.node is None:
            return
        try:
            found = _cache.lookup(self.store(), run.node["key"])
        except Exception as err:  # noqa: BLE001 - a broken store means a miss, not a failed cell
            found = _cache.Miss(f"the cache could not be read: {type(err).__name__}: {err}")
        if isinstance(found, _cache.Restore):
            _cache.adopt(self.session, run, found.entry)
            self.restoring = found
            return
        if found.reason:
            self.recording.warn(f"notelock: the cell runs again: {found.reason}")
        self._pending_run = run
        self._capture = Capture(self.shell)

    def apply_restore(self) -> Any:
        """Bind the stored variables, show the outputs, return the last value."""
        restore, self.restoring = self.restoring, None
        if restore is None:
            return None
        ns = self.shell.user_ns
        ns.update(restore.values)
        for name in restore.entry.get("facts", {}).get("deleted", ()):
            ns.pop(name, None)
        # on stderr, as every notelock message: what the cell showed stays as it was
        print("notelock: " + _cache.describe_hit(restore.entry), file=sys.stderr)
        for item in restore.outputs:
            if "stream" in item:
                getattr(sys, item["stream"], sys.stdout).write(item["text"])
            elif "display" in item:
                self.shell.display_pub.publish(item["display"], item.get("metadata") or {})
        if restore.has_result:
            return restore.result
        if restore.result_display:
            self.shell.display_pub.publish(restore.result_display, {})
        return None

    def _post_run_cell(self, result: Any) -> None:
        outputs = self._stop_capture()
        if self._pending_run is None:
            self.restoring = None
            return
        self._outputs = outputs
        self._result = getattr(result, "result", None)
        self._has_result = True
        if getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None):
            self._reset()
            return
        if self._ended is not None:
            self._save()

    def _end(self, run: Any, entry: dict[str, Any], error: BaseException | None) -> None:
        if run is not self._pending_run:
            return
        if entry.get("error"):
            self._reset()
            return
        self._ended = (run, entry, time.perf_counter() - run.started)
        if self._has_result:
            self._save()

    def _save(self) -> None:
        run, _entry, seconds = self._ended
        outputs, value = getattr(self, "_outputs", []), self._result
        self._reset()
        session = self.session
        try:
            names = list(run.node.get("writes", {}))
            values = {n: session.ns[n] for n in names if n in session.ns}
            values.update(self._mutated_reads(run))
            outcome = _cache.Outcome(
                key=run.node["key"], node_id=run.node_id, node=run.node, inner=list(run.inner),
                nodes={nid: session.nodes[nid] for nid in run.inner if nid in session.nodes},
                schemas={n["schema"]: session.schemas[n["schema"]] for nid in run.inner
                         if (n := session.nodes.get(nid, {})).get("schema") in session.schemas},
                values=values, outputs=outputs, seconds=seconds, base_dir=session.base_dir,
                result=value, result_display=self._display_of(value))
            store = self.store()
            _cache.save(store, outcome)
            self._evict(store)
        except _cache.Uncacheable as err:
            self.recording.warn(f"notelock: {run.node_id} not cached: {err}")
        except (OSError, NotelockError) as err:
            self.recording.warn(f"notelock: {run.node_id} not cached: {err}")

    def _mutated_reads(self, run: Any) -> dict[str, Any]:
        """Variables the cell read and changed in place (``df["x"] = …``): a
        restore must bring their new state back too."""
        out = {}
        for name, digest in run.node.get("reads", {}).items():
            value = self.session.ns.get(name)
            if value is run.read_values.get(name) and name not in run.node.get("writes", {}):
                if hashing.value_hash(value) != digest:
                    out[name] = value
        return out

    def _display_of(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        try:
            data, _ = self.shell.display_formatter.format(value)
            return {k: v for k, v in data.items() if isinstance(v, str)}
        except Exception:  # noqa: BLE001
            return None

    def _evict(self, store: Store) -> None:
        text = protocol.setting("NOTELOCK_STORE_MAX_BYTES")
        if not text:
            return
        try:
            cap = parse_size(text)
        except ValueError:
            self.recording.warn(f"notelock: NOTELOCK_STORE_MAX_BYTES={text!r} is not a size; no cap applied")
            return
        if store.total_size() <= cap:
            return
        pinned = pinned_objects(store, [self.session.lock_path], extra_locks=[self.session.to_lock()])
        store.evict_to(cap, pinned)

    # ------------------------------------------------------------ %lock commands
    def cmd_snapshot(self, args: list[str]) -> None:
        """``%lock snapshot on|off|limit SIZE``."""
        if args == ["on"] or args == ["off"]:
            self.snapshot_all = args[0] == "on"
            state = "every read in a %%lock cell is pinned in the store" if self.snapshot_all else \
                "only %%lock --snapshot cells pin their reads"
            print(f"notelock: snapshots {args[0]}: {state}")
            return
        if len(args) == 2 and args[0] == "limit":
            try:
                self.snapshots.limit = parse_size(args[1])
            except ValueError as err:
                raise NotelockError(str(err)) from None
            print(f"notelock: reads over {format_size(self.snapshots.limit)} are recorded by hash only")
            return
        if not args:
            state = "on" if self.snapshot_all else "off (per cell with %%lock --snapshot)"
            print(f"notelock: snapshots {state}; per-read limit {format_size(self.snapshots.limit)}")
            return
        raise NotelockError("usage: %lock snapshot on|off|limit SIZE")

    def cmd_store(self, args: list[str]) -> None:
        """``%lock store [PATH|URL]``: show the store, or use the one at PATH or URL."""
        if len(args) > 1:
            raise NotelockError("usage: %lock store [PATH|URL]")
        if args:
            spec = args[0]
            self.store_override = spec if is_url(spec) else str(Path(spec).expanduser().absolute())
        store = self.store()
        size = store.total_size()
        held = f"{format_size(size)} held locally in {store.root}" if store.where != str(store.root) \
            else format_size(size)
        print(f"notelock: store {store.where} ({held})")


def attach(recording: Any) -> StoreHooks | None:
    """Attach the store hooks to a recording; a failure is reported, never raised."""
    try:
        return StoreHooks(recording)
    except Exception as err:  # noqa: BLE001 - the rest of notelock works without it
        recording.warn(f"notelock: snapshots, cache and history are off: {type(err).__name__}: {err}")
        return None


__all__ = ["StoreHooks", "attach", "restore_cached"]
