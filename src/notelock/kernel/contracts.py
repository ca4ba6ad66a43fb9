"""Kernel side of schema contracts and determinism contracts.

:func:`attach` is called once when the extension loads. It subscribes to the
session's events:

- ``after_read``: compare each read's schema with the one recorded earlier in
  this session for the same source (path, URL, or connection + query), warn
  in the notebook when it changed, and raise
  :class:`~notelock.core.errors.DriftError` in strict mode (``%%lock
  --strict`` or ``%lock strict on``), stopping the cell at that read;
- ``cell_begin`` / ``cell_end``: apply the notebook-wide determinism contract
  (``%lock contract …``) and keep numeric summaries of cells declared with a
  tolerance;
- in a replay kernel (``NOTELOCK_REPLAY`` names a plan written by
  ``notelock replay``), the read pins of :mod:`notelock.kernel.replay_pins`.

No IPython imports: the magics call in with the recording object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core import numeric, protocol
from ..core import schema as schemas
from ..core.diff import diff_locks, render_text
from ..core.errors import DriftError, UsageError
from ..core.history import resolve_lock_spec
from ..core.recorder import contract_of
from .replay_pins import ReplayPins, load_plan


class Contracts:
    """The schema and determinism contracts of one kernel session."""

    def __init__(self, session: Any):
        self.session = session
        self.strict = False
        self.default: str | None = None
        self.seen: dict[str, tuple[dict[str, Any] | None, int | None]] = {}
        self.replay: ReplayPins | None = None
        #: the notebook's metadata.notelock section, read when the file changes
        self.settings: Any = None
        self._section_registered = False

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
        """Apply the notebook-wide contract to a cell that declares none, and the
        notebook's declared nondeterministic variables (``metadata.notelock``)."""
        if run.node is None:
            return
        if run.options.get("deterministic"):
            run.node["contract"] = {"verify": "exact"}
            return
        if "contract" not in run.node and self.default == "nondeterministic":
            run.node["contract"] = {"verify": "none", "declared": "notebook"}
            return
        names = self.notebook_nondeterministic()
        if names and (run.node.get("contract") or {}).get("verify") != "none":
            contract = dict(run.node.get("contract") or {"verify": "exact"})
            contract["not_verified"] = sorted({*contract.get("not_verified", ()), *names})
            run.node["contract"] = contract

    def notebook_nondeterministic(self) -> list[str]:
        """``metadata.notelock.nondeterministic``: variable names no cell verifies."""
        settings = self.settings() if self.settings is not None else {}
        names = settings.get("nondeterministic")
        if isinstance(names, str):
            names = [names]
        return [n for n in names or () if isinstance(n, str) and n.isidentifier()]

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
        if not self._section_registered:
            self.session.events.register("lock_data", self._add_section)
            self._section_registered = True

    def _add_section(self, data: dict[str, Any]) -> None:
        if self.default is not None:
            data["contracts"] = {"default": self.default}

    # -- %lock commands
    def set_strict(self, args: list[str]) -> str:
        """``%lock strict on|off``."""
        if args not in (["on"], ["off"]):
            raise UsageError("usage: %lock strict on|off")
        self.strict = args == ["on"]
        return ("notelock: strict: a read whose schema changed stops its cell" if self.strict
                else "notelock: strict off: schema changes are warnings")

    def set_contract(self, args: list[str]) -> str:
        """``%lock contract deterministic|nondeterministic``."""
        if len(args) != 1:
            raise UsageError("usage: %lock contract deterministic|nondeterministic")
        self.set_default(args[0])
        return f"notelock: cells are {args[0]} unless a cell declares otherwise"

    def diff_from(self, spec: str) -> str:
        """``%lock diff OTHER``: the semantic diff from OTHER to this session's lock."""
        other, name = resolve_lock_spec(spec, base=self.session.lock_path.parent)
        return render_text(diff_locks(other, self.session.to_lock()), name, "this session")


def attach(recording: Any, environ: Mapping[str, str] | None = None) -> Contracts:
    """Subscribe the contracts (and, in a replay kernel, the read pins) to a recording's session."""
    session = recording.session
    contracts = Contracts(session)
    contracts.settings = recording.workflow.settings
    session.events.register("after_read", contracts.observe_schema)
    session.events.register("cell_begin", contracts.on_cell_begin)
    session.events.register("cell_end", contracts.on_cell_end)
    plan_path = protocol.setting("NOTELOCK_REPLAY", environ)
    if plan_path:
        pins = ReplayPins(load_plan(plan_path), session)
        contracts.replay = pins
        session.events.register("before_read", pins.policy)
        session.events.register("after_read", pins.observe)
        pins.emit({"event": "attached", "mode": pins.mode})
    return contracts


__all__ = ["attach", "Contracts"]
