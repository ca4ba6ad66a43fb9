"""Replay planning and verdicts: everything about a replay that needs no kernel.

A replay re-runs a lock's recorded cells in a fresh kernel and compares the
lock that run produces with the recorded one. This module

- refuses a lock with hidden state before anything runs (:func:`check_replayable`);
- lists the cells to run (:func:`replay_sources`): the recorded imports, the
  extension, then every recorded cell in execution order;
- writes the plan the kernel side reads (:func:`read_plan`): the recorded
  reads by position, with their content hashes, schemas and snapshots;
- judges each recorded node against its counterpart in the replayed lock
  (:class:`Judge`), matching nodes by cell and position, since node ids
  differ wherever inputs differ;
- folds several replays into run-to-run stability (:func:`stability`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

from . import numeric, secrets
from . import schema as schemas
from .diff import align_cells, diff_environment, environment_lines
from .errors import NotelockError
from .hidden import describe, hidden_state
from .lockfile import iter_node_sequence
from .render import node_label, short

REPRODUCED = "reproduced"
WITHIN_TOLERANCE = "reproduced within tolerance"
NOT_VERIFIED = "not verified"
DIVERGED = "DIVERGED"
VERDICTS = (REPRODUCED, WITHIN_TOLERANCE, NOT_VERIFIED, DIVERGED)
SNAPSHOT_NOTE = "input drifted, replayed from snapshot"
LOAD_SOURCE = "%load_ext notelock"


class ReplayRefused(NotelockError):
    """The lock cannot be replayed from its own cells (hidden state)."""

    exit_code = 2


# ---------------------------------------------------------------- planning


def check_replayable(lock: dict[str, Any]) -> None:
    """Raise :class:`ReplayRefused` naming the variables if the lock has hidden state."""
    items = hidden_state(lock)
    if items:
        raise ReplayRefused("not replayable: " + describe(items))


def import_lines(imports: dict[str, str]) -> str:
    """Python that binds the names the session imported before notelock was loaded."""
    lines = []
    for name, ref in sorted(imports.items()):
        module, attr = _split_reference(ref)
        if attr is None:
            lines.append(f"import {module}" if name == module else f"import {module} as {name}")
        elif "." not in attr:
            lines.append(f"from {module} import {attr}" + ("" if attr == name else f" as {name}"))
        else:
            head, rest = attr.split(".", 1)
            lines.append(f"from {module} import {head} as {name}\n{name} = {name}.{rest}")
    return "\n".join(lines)


def _split_reference(ref: str) -> tuple[str, str | None]:
    """``"sklearn.ensemble.RandomForestClassifier"`` → (module, attribute path)."""
    parts = ref.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            return module, (".".join(parts[cut:]) or None)
    return parts[0], (".".join(parts[1:]) or None)


def replay_sources(lock: dict[str, Any], environ: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The cells a replay runs, in order: ``{"source", "recorded": index | None}``.

    First the imports the session had before notelock was loaded (so they are
    module imports, not hidden state), then ``%load_ext notelock``, then every
    recorded cell in execution order. A recorded loading cell is not run a
    second time. Secrets kept out of the lock (``⟨env:NAME⟩``) are put back
    from *environ* (the replay's environment).
    """
    out: list[dict[str, Any]] = []
    imports = (lock.get("session") or {}).get("imports") or {}
    if imports:
        out.append({"source": import_lines(imports), "recorded": None})
    out.append({"source": LOAD_SOURCE, "recorded": None})
    for index, cell in enumerate(lock.get("cells", [])):
        if cell.get("source", "").strip() in (LOAD_SOURCE, "%reload_ext notelock"):
            continue
        out.append({"source": secrets.restore_markers(cell.get("source", ""), environ), "recorded": index})
    return out


def check_secrets(lock: dict[str, Any], environ: dict[str, str] | None = None) -> None:
    """Raise :class:`ReplayRefused` when a cell cannot be run as recorded
    because a secret was kept out of the lock and cannot be put back."""
    for index, cell in enumerate(lock.get("cells", [])):
        missing = secrets.unresolvable_markers(cell.get("source", ""), environ)
        if not missing:
            continue
        where = f"cell {index} (In [{cell.get('execution_count') or '?'}])"
        names = [m for m in missing if m != secrets.REDACTED]
        if names:
            raise ReplayRefused(f"not replayable here: {where} needs {', '.join(names)} in the environment"
                                " (its value was kept out of the lock)")
        raise ReplayRefused(f"not replayable: {where} held a credential written in its source, removed from the"
                            " lock; keep credentials in environment variables to make such a cell replayable")


def read_plan(lock: dict[str, Any], lock_path: str, *, against_current: bool,
              events_path: str) -> dict[str, Any]:
    """What the kernel side needs to pin reads: the recorded reads in call order.

    ``mode`` is ``"pinned"`` (drifted inputs are served from their snapshot)
    or ``"current"`` (today's data; drift is reported, never served).
    """
    reads = []
    nodes = lock.get("nodes", {})
    for position, nid in enumerate(n for n in iter_node_sequence(lock.get("cells", []))
                                   if nodes[n]["op"] == "read"):
        node = nodes[nid]
        entry = {k: node.get(k) for k in ("reader", "path", "url", "query", "connection", "content", "output",
                                          "rows", "snapshot", "snapshot_format", "options",
                                          "files", "databases", "table_stats")}
        entry.update(position=position, node=nid, label=schemas.source_label(node),
                     key=schemas.source_key(node),
                     schema=(lock.get("schemas") or {}).get(node.get("schema")) if node.get("schema") else None)
        entry.update({k: node[k] for k in ("remote", "delta") if k in node})  # reads pinned by version
        reads.append(entry)
    return {"lock": lock_path, "mode": "current" if against_current else "pinned", "reads": reads,
            "events": events_path}


def environment_changes(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Lines naming how the replay's environment differs from the recorded one.

    Thread pools are compared only when *current* lists some: a process that
    has not loaded NumPy yet shows none, which says nothing about the kernel.
    """
    recorded, current = dict(recorded or {}), dict(current or {})
    if not current.get("threads"):
        recorded.pop("threads", None)
        current.pop("threads", None)
    return environment_lines(diff_environment(recorded, current))


def node_count(lock: dict[str, Any]) -> int:
    """How many distinct nodes a replay reports on."""
    return len(dict.fromkeys(iter_node_sequence(lock.get("cells", []))))


# ---------------------------------------------------------------- verdicts


def contract_of_node(lock: dict[str, Any], nid: str) -> dict[str, Any] | None:
    """The determinism contract a node is verified under: its own, else its cell's."""
    nodes = lock.get("nodes", {})
    node = nodes.get(nid, {})
    if node.get("contract"):
        return node["contract"]
    cells = lock.get("cells", [])
    index = node.get("cell")
    if isinstance(index, int) and 0 <= index < len(cells):
        cell_node = nodes.get(cells[index].get("node") or "", {})
        if cell_node.get("contract"):
            return cell_node["contract"]
    default = (lock.get("contracts") or {}).get("default")
    if default == "nondeterministic":
        return {"verify": "none"}
    return None


class Judge:
    """Verdicts for a recorded lock's nodes against a replayed lock, cell by cell.

    *read_events* returns what the kernel side noted about reads (by recorded
    node id): drift, snapshot served, schema change, store errors.
    """

    def __init__(self, recorded: dict[str, Any], read_events: Callable[[], dict[str, dict[str, Any]]]):
        self.recorded = recorded
        self.read_events = read_events
        self.verdicts: dict[str, dict[str, Any]] = {}
        self.differs: set[str] = set()
        self.order: list[str] = []
        self._inner_differs: list[str] = []

    # -- cells
    def align(self, replayed: dict[str, Any]) -> dict[int, int]:
        """Recorded cell index → replayed cell index (same sources, same order)."""
        pairs = align_cells(self.recorded.get("cells", []), replayed.get("cells", []))
        return {i: j for i, j in pairs if i is not None and j is not None}

    def judge_cell(self, rec_index: int, replayed: dict[str, Any] | None, rep_index: int | None,
                   error: str | None = None) -> list[dict[str, Any]]:
        """Verdicts for the nodes of recorded cell *rec_index* not judged yet."""
        rec_cell = self.recorded["cells"][rec_index]
        rec_ids = list(iter_node_sequence([rec_cell]))
        rep_ids: list[str] = []
        rep_cell: dict[str, Any] = {}
        if replayed is not None and rep_index is not None and rep_index < len(replayed.get("cells", [])):
            rep_cell = replayed["cells"][rep_index]
            rep_ids = list(iter_node_sequence([rep_cell]))
        expected = rec_cell.get("error")
        rep_nodes = (replayed or {}).get("nodes", {})
        # nodes recorded inside the cell whose results differ: what a cell node's divergence comes from
        self._inner_differs = [rid for k, rid in enumerate(rec_ids) if k > 0 and (
            k >= len(rep_ids) or self.recorded["nodes"][rid].get("output") != rep_nodes.get(rep_ids[k], {}).get("output"))]
        out = []
        for k, rid in enumerate(rec_ids):
            if rid in self.verdicts:
                continue
            pid = rep_ids[k] if k < len(rep_ids) else None
            pnode = (replayed or {}).get("nodes", {}).get(pid) if pid else None
            verdict = self._judge(rid, pnode, pid)
            if k == 0 and rec_cell.get("node") == rid and expected != error:
                verdict.update(verdict=DIVERGED, detail=(
                    f"expected the cell to raise {expected}, it raised {error or 'nothing'}" if expected
                    else f"the cell raised {error}"))
            self._keep(rid, verdict)
            out.append(verdict)
        return out

    def not_reached(self, rec_index: int, why: str) -> list[dict[str, Any]]:
        """Verdicts for the nodes of a cell the replay never ran."""
        out = []
        for rid in iter_node_sequence([self.recorded["cells"][rec_index]]):
            if rid in self.verdicts:
                continue
            node = self.recorded["nodes"][rid]
            verdict = self._base(rid, node, None, None)
            event = self.read_events().get(rid)
            if event and event.get("diverged"):
                verdict.update(verdict=DIVERGED, detail=event.get("message", "input drifted"))
            else:
                verdict.update(verdict=NOT_VERIFIED, detail=f"not reached: {why}")
            self._keep(rid, verdict)
            out.append(verdict)
        return out

    def _keep(self, rid: str, verdict: dict[str, Any]) -> None:
        self.verdicts[rid] = verdict
        self.order.append(rid)
        # what can explain a divergence downstream: a result that differs and
        # was not found to reproduce (measured times do not count)
        if verdict.get("replayed") != verdict.get("recorded") and verdict["verdict"] != REPRODUCED:
            self.differs.add(rid)

    def _base(self, rid: str, node: dict[str, Any], pid: str | None, pnode: dict[str, Any] | None) -> dict[str, Any]:
        return {"id": rid, "op": node["op"], "label": node_label(node), "recorded": node.get("output"),
                "replayed": (pnode or {}).get("output"), "replayed_id": pid}

    def _judge(self, rid: str, pnode: dict[str, Any] | None, pid: str | None) -> dict[str, Any]:
        node = self.recorded["nodes"][rid]
        v = self._base(rid, node, pid, pnode)
        event = self.read_events().get(rid) or {}
        notes = []
        if event.get("served"):
            note = SNAPSHOT_NOTE if not event.get("from") else f"input drifted, replayed from {event['from']}"
            notes.append(note + (f" ({event['message']})" if event.get("message") else ""))
        if event.get("drifted"):
            v["drift"] = event.get("message") or "content changed"
        if event.get("schema"):
            v["schema"] = event["schema"]
        server = event.get("server")
        if isinstance(server, dict):  # PostgreSQL's statistics of the tables read, next to the hash's verdict
            v["server"] = server
            if not event.get("drifted"):
                notes.append(server.get("text", ""))
        contract = contract_of_node(self.recorded, rid) or {}
        if pnode is None:
            v.update(verdict=DIVERGED, detail=event.get("message") if event.get("diverged") or event.get("drifted")
                     else "the replay did not record this node (the call no longer happened)")
            return v
        if pnode.get("op") != node["op"]:
            v.update(verdict=DIVERGED, detail=f"the replay recorded a {pnode.get('op')} node here")
            return v
        if contract.get("verify") == "none":
            v.update(verdict=NOT_VERIFIED, detail="declared nondeterministic")
            return v
        if node["op"] == "cell" and contract.get("verify") != "tolerance":
            self._judge_cell(v, node, pnode, contract, notes, event)
            return v
        if node.get("opaque"):
            v.update(verdict=NOT_VERIFIED, detail="opaque output (hashed by a fallback): "
                     + ", ".join(map(str, node["opaque"])))
            return v
        if node.get("output") == pnode.get("output"):
            if event.get("drifted") and not event.get("served"):
                notes.append(f"input drifted, same result ({event.get('message')})")
            v.update(verdict=REPRODUCED, detail="; ".join(notes))
            return v
        if contract.get("verify") == "tolerance":
            ok, why = self._tolerance(rid, node, pnode, contract)
            if ok:
                v.update(verdict=WITHIN_TOLERANCE,
                         detail=f"rtol={contract.get('rtol')}, atol={contract.get('atol')}")
                return v
            notes.append(f"outside tolerance: {why}")
        if event.get("drifted") and node["op"] == "read":
            v.update(verdict=DIVERGED, detail="; ".join(notes) if event.get("served")
                     else event.get("message") or "content changed")
            return v
        v.update(verdict=DIVERGED, detail="; ".join([*notes, self._divergence(rid, node, pnode)]))
        return v

    def _judge_cell(self, v: dict[str, Any], node: dict[str, Any], pnode: dict[str, Any],
                    contract: dict[str, Any], notes: list[str], event: dict[str, Any]) -> None:
        """A cell's verdict from its variables, one by one, and from what it showed.

        A variable that differs is reported with the kind of difference; one
        that comes from a clock (``timing``), is declared nondeterministic, or
        could only be hashed by a fallback is *not verified* without failing
        the cell, as is a path below the temporary folder that differs (a new
        ``tempfile.mkdtemp()`` on each run); the cell's other variables are
        still verified.
        """
        wa, wb = node.get("writes") or {}, pnode.get("writes") or {}
        exempt = {**{n: "declared nondeterministic" for n in contract.get("not_verified", ())},
                  **{n: "opaque" for n in node.get("opaque", ()) if n in wa},
                  **{n: "timing" for n in node.get("timing", ())}}
        variables: dict[str, dict[str, str]] = {}
        for name in sorted(set(wa) | set(wb)):
            if name not in wb:
                variables[name] = {"verdict": DIVERGED, "detail": "not bound by the replay"}
            elif name not in wa:
                variables[name] = {"verdict": DIVERGED, "detail": "bound only by the replay"}
            elif wa[name] == wb[name] and name not in exempt:
                variables[name] = {"verdict": REPRODUCED, "detail": ""}
            elif name in exempt:
                variables[name] = {"verdict": NOT_VERIFIED, "detail": f"{exempt[name]} — not verified"}
            elif name in (node.get("temporary") or ()) and name in (pnode.get("temporary") or ()):
                variables[name] = {"verdict": NOT_VERIFIED, "detail": "temporary path — not verified"}
            elif (measured := _same_but_measured(node, pnode, name)) is not None:
                variables[name] = {"verdict": NOT_VERIFIED,
                                   "detail": f"timing columns {', '.join(measured)} — not verified; the rest reproduced"}
            else:
                variables[name] = {"verdict": DIVERGED, "detail": difference_kind(
                    (node.get("kinds") or {}).get(name), (pnode.get("kinds") or {}).get(name))}
        shown_a, shown_b = node.get("shown"), pnode.get("shown")
        shown_differs = bool(shown_a or shown_b) and (shown_a or {}).get("digest") != (shown_b or {}).get("digest")
        if variables:
            v["variables"] = variables
        diverged = [n for n, x in variables.items() if x["verdict"] == DIVERGED]
        unverified = [n for n, x in variables.items() if x["verdict"] == NOT_VERIFIED]
        parts = [f"{n}: {variables[n]['detail']}" for n in diverged]
        if shown_differs:
            what = ", ".join((shown_a or shown_b or {}).get("parts") or ["output"])
            parts.append(f"what the cell showed differs ({what})")
        if diverged or shown_differs:
            v.update(verdict=DIVERGED, detail="; ".join([*notes, *parts, self._cause_inside(v)]))
            return
        parts += [f"{n}: {variables[n]['detail']}" for n in unverified]
        if unverified and len(unverified) == len(variables) and not shown_a:
            v.update(verdict=NOT_VERIFIED, detail="; ".join([*notes, *parts]))
            return
        if event.get("drifted") and not event.get("served"):
            notes.append(f"input drifted, same result ({event.get('message')})")
        v.update(verdict=REPRODUCED, detail="; ".join([*notes, *parts]))

    def _cause_inside(self, v: dict[str, Any]) -> str:
        if self._inner_differs:
            inner = self._inner_differs[0]
            deeper = self.first_diverging_input(inner) or inner
            return f"first diverging input: {deeper} {node_label(self.recorded['nodes'][deeper])} (inside the cell)"
        first = self.first_diverging_input(v["id"])
        if first is not None:
            return f"first diverging input: {first} {node_label(self.recorded['nodes'][first])}"
        return "its inputs reproduced: the cell itself gave a different result (nondeterminism or the environment)"

    def _tolerance(self, rid: str, node: dict[str, Any], pnode: dict[str, Any],
                   contract: dict[str, Any]) -> tuple[bool, str]:
        rtol, atol = float(contract.get("rtol") or 0.0), float(contract.get("atol") or 0.0)
        if node["op"] != "cell":
            cell = self._cell_node_of(rid)
            if cell and self.verdicts.get(cell, {}).get("verdict") in (REPRODUCED, WITHIN_TOLERANCE):
                return True, ""
            return False, "its cell's results are not within tolerance"
        wa, wb = node.get("writes") or {}, pnode.get("writes") or {}
        if set(wa) != set(wb):
            return False, "the cell bound different names"
        na, nb = node.get("numeric") or {}, pnode.get("numeric") or {}
        for name in sorted(wa):
            if wa[name] == wb[name]:
                continue
            ok, why = numeric.within_tolerance(na.get(name), nb.get(name), rtol, atol)
            if not ok:
                return False, f"{name}: {why}"
        return True, ""

    def _cell_node_of(self, rid: str) -> str | None:
        index = self.recorded["nodes"][rid].get("cell")
        cells = self.recorded.get("cells", [])
        if isinstance(index, int) and 0 <= index < len(cells):
            return cells[index].get("node")
        return None

    def first_diverging_input(self, rid: str) -> str | None:
        """The most upstream input whose result differs on the path to *rid*."""
        seen: set[str] = set()
        cur = rid
        found = None
        while True:
            nxt = next((i for i in self.recorded["nodes"][cur].get("inputs", [])
                        if i in self.differs and i not in seen), None)
            if nxt is None:
                return found
            seen.add(nxt)
            found = cur = nxt

    def _divergence(self, rid: str, node: dict[str, Any], pnode: dict[str, Any]) -> str:
        text = f"output {short(node.get('output'))} → {short(pnode.get('output'))}"
        first = self.first_diverging_input(rid)
        if first is not None:
            fnode = self.recorded["nodes"][first]
            why = self.verdicts.get(first, {}).get("drift") or self.verdicts.get(first, {}).get("detail") or ""
            return f"{text}; first diverging input: {first} {node_label(fnode)}" + (f" ({why})" if why else "")
        if node["op"] == "cell" and self._inner_differs:
            inner = self._inner_differs[0]
            deeper = self.first_diverging_input(inner) or inner
            return f"{text}; first diverging input: {deeper} {node_label(self.recorded['nodes'][deeper])} (inside the cell)"
        if node["op"] == "cell":
            ra, rb = node.get("reads") or {}, pnode.get("reads") or {}
            names = sorted(n for n in set(ra) | set(rb) if ra.get(n) != rb.get(n))
            if names:
                return f"{text}; input variables differ: {', '.join(names)}"
        if node.get("args") and node.get("args") != pnode.get("args"):
            names = sorted(n for n in node["args"] if node["args"].get(n) != (pnode.get("args") or {}).get(n))
            return f"{text}; arguments differ: {', '.join(names)}"
        return f"{text}; its inputs reproduced: the node itself gave a different result (nondeterminism or the environment)"

    # -- results
    def results(self) -> list[dict[str, Any]]:
        """Every verdict so far, in execution order."""
        return [self.verdicts[n] for n in self.order]

    def summary(self) -> dict[str, Any]:
        """Counts per verdict, plus drifted inputs."""
        counts = {v: 0 for v in VERDICTS}
        for verdict in self.verdicts.values():
            counts[verdict["verdict"]] += 1
        drifted = [rid for rid, v in self.verdicts.items() if v.get("drift")]
        return {"nodes": len(self.verdicts), **{k.replace(" ", "_"): n for k, n in counts.items()},
                "drifted": drifted}


def difference_kind(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    """How a variable's value differs, from the kinds recorded on each side."""
    a, b = a or {}, b or {}
    if a.get("type") != b.get("type"):
        return f"type {a.get('type')} → {b.get('type')}"
    for key in ("shape", "len"):
        if a.get(key) != b.get(key):
            return f"{'shape' if key == 'shape' else 'length'} {a.get(key)} → {b.get(key)}"
    if a.get("dtype") != b.get("dtype"):
        return f"dtype {a.get('dtype')} → {b.get('dtype')}"
    if a.get("dtypes") != b.get("dtypes"):
        return "column dtypes differ"
    return "values differ"


def exit_code(judge: Judge, *, mode: str, failed: bool = False) -> int:
    """0 when every verifiable node reproduced; 1 on a divergence (or drift on today's data)."""
    if failed:
        return 1
    results = judge.results()
    if any(v["verdict"] == DIVERGED for v in results):
        return 1
    if mode == "current" and any(v.get("drift") for v in results):
        return 1
    return 0


def headline(summary: dict[str, Any], exit_code: int, *, mode: str) -> str:
    """The verdict in words, the same on the command line and in the sidebar:
    ``reproduced``, ``reproduced from snapshots — N inputs changed since the
    lock`` (drift served from snapshots), ``diverged`` (``… on current data``),
    or ``could not replay``."""
    drifted = len(summary.get("drifted") or [])
    changed = f"{drifted} input{'s' if drifted != 1 else ''} changed since the lock"
    if exit_code == 0:
        return f"reproduced from snapshots — {changed}" if drifted and mode == "pinned" else "reproduced"
    if exit_code == 1:
        return f"diverged on current data — {changed}" if drifted and mode == "current" else "diverged"
    return "could not replay"


# ---------------------------------------------------------------- stability


def stability(recorded: dict[str, Any], runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per node: whether its result was the same in every run, and the declared contract.

    ``stable`` is true when every run produced one output hash; ``matches``
    when that hash is also the recorded one; ``holds`` says whether the
    declared contract (exact by default) is borne out: an exact node must be
    stable, a nondeterministic one may be anything (a stable nondeterministic
    node is reported, as its declaration may be too cautious).
    """
    by_id: dict[str, list[dict[str, Any]]] = {}
    order: list[str] = []
    for run in runs:
        for verdict in run:
            if verdict["id"] not in by_id:
                order.append(verdict["id"])
            by_id.setdefault(verdict["id"], []).append(verdict)
    out = []
    for nid in order:
        vs = by_id[nid]
        outputs = {v.get("replayed") for v in vs}
        contract = contract_of_node(recorded, nid) or {"verify": "exact"}
        stable = len(outputs) == 1 and None not in outputs and len(vs) == len(runs)
        matches = stable and outputs == {recorded["nodes"][nid].get("output")}
        declared = contract.get("verify", "exact")
        if declared == "exact":
            holds = stable
        elif declared == "tolerance":
            holds = all(v["verdict"] in (REPRODUCED, WITHIN_TOLERANCE) for v in vs)
        else:
            holds = True
        out.append({"id": nid, "op": vs[0]["op"], "label": vs[0]["label"], "declared": declared,
                    "stable": stable, "matches_recorded": matches, "holds": holds,
                    "outputs": sorted(o for o in outputs if o)})
    return out


__all__ = ["Judge", "ReplayRefused", "check_replayable", "replay_sources", "read_plan", "import_lines",
           "environment_changes", "contract_of_node", "exit_code", "stability", "node_count", "VERDICTS",
           "REPRODUCED", "WITHIN_TOLERANCE", "NOT_VERIFIED", "DIVERGED", "SNAPSHOT_NOTE", "headline"]


def _same_but_measured(node: dict[str, Any], pnode: dict[str, Any], name: str) -> list[str] | None:
    """The measured-time columns of a frame that reproduced in everything else
    (see ``timing_columns`` in the lock), or None."""
    a = (node.get("timing_columns") or {}).get(name)
    b = (pnode.get("timing_columns") or {}).get(name)
    if not isinstance(a, dict) or not isinstance(b, dict) or not a.get("rest") or a.get("rest") != b.get("rest"):
        return None
    if a.get("columns") != b.get("columns"):
        return None
    return [str(c) for c in a["columns"]]
