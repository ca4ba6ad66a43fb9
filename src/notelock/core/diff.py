"""The semantic diff of two lock files: what changed first, and what followed.

:func:`diff_locks` compares two locks and returns JSON data grouped the way a
person asks the question: workflow, environment, data, code, parameters,
outputs. Nodes are matched by the cell that recorded them (cells aligned by
their sources, in execution order) and by their position inside the cell, so
a node whose id changed is still compared with its counterpart.

Every changed node is classified:

- a **root cause** when its own content changed: a read's data, query or
  options; a cell's code, options or the notebook functions it calls; an
  estimator's class or parameters; or an input value that no recorded node
  produced (set by an unlocked cell);
- a **consequence** when it changed only because one of its inputs did.

:func:`render_text` prints the diff for a terminal or a notebook.
"""

from __future__ import annotations

import difflib
from typing import Any

from . import schema as schemas
from .lockfile import iter_node_sequence
from .render import node_label, short

#: node fields that are facts of one run, not content
_FACT_KEYS = {"cell", "identity", "inputs", "output", "rows", "columns", "bytes", "schema", "snapshot",
              "snapshot_format", "numeric", "contract", "rng_state", "opaque", "result", "writes", "deleted"}


# ---------------------------------------------------------------- alignment


def align_cells(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[tuple[int | None, int | None]]:
    """Pairs of cell indexes (None where a cell exists on one side only).

    Cells are aligned on their sources; a run of changed cells between two
    aligned ones is paired in order (the edited cell is compared with the
    one it replaced), and what is left over is added or removed.
    """
    sm = difflib.SequenceMatcher(None, [c.get("source", "") for c in a], [c.get("source", "") for c in b],
                                 autojunk=False)
    pairs: list[tuple[int | None, int | None]] = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            pairs.extend(zip(range(i1, i2), range(j1, j2)))
            continue
        common = min(i2 - i1, j2 - j1)
        pairs.extend(zip(range(i1, i1 + common), range(j1, j1 + common)))
        pairs.extend((i, None) for i in range(i1 + common, i2))
        pairs.extend((None, j) for j in range(j1 + common, j2))
    return pairs


def _cell_nodes(cell: dict[str, Any]) -> list[str]:
    return list(iter_node_sequence([cell]))


def match_nodes(a: dict[str, Any], b: dict[str, Any]) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Node pairs ``(a_id, b_id)``, then the ids only in *a*, then only in *b*.

    Within a pair of aligned cells, nodes pair by position while their ops
    agree.
    """
    pairs: dict[tuple[str, str], None] = {}
    only_a: dict[str, None] = {}
    only_b: dict[str, None] = {}
    a_cells, b_cells = a.get("cells", []), b.get("cells", [])
    for i, j in align_cells(a_cells, b_cells):
        na = _cell_nodes(a_cells[i]) if i is not None else []
        nb = _cell_nodes(b_cells[j]) if j is not None else []
        k = 0
        while k < min(len(na), len(nb)) and a["nodes"][na[k]]["op"] == b["nodes"][nb[k]]["op"]:
            pairs.setdefault((na[k], nb[k]), None)
            k += 1
        for nid in na[k:]:
            only_a.setdefault(nid, None)
        for nid in nb[k:]:
            only_b.setdefault(nid, None)
    paired_a = {p[0] for p in pairs}
    paired_b = {p[1] for p in pairs}
    return (list(pairs), [n for n in only_a if n not in paired_a], [n for n in only_b if n not in paired_b])


# ---------------------------------------------------------------- sections


def _flatten(params: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(params, dict) and set(params) == {"estimator", "params"} and prefix:
        out[prefix] = params["estimator"]
        out.update(_flatten(params["params"], prefix + "__"))
        return out
    if isinstance(params, dict):
        for key, value in params.items():
            name = f"{prefix}{key}" if not prefix or prefix.endswith("__") else f"{prefix}__{key}"
            if isinstance(value, dict) and set(value) == {"estimator", "params"}:
                out[name] = value["estimator"]
                out.update(_flatten(value["params"], name + "__"))
            else:
                out[name] = value
        return out
    return {prefix: params}


def _changed_dict(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    added = {k: b[k] for k in b if k not in a}
    removed = {k: a[k] for k in a if k not in b}
    changed = {k: {"a": a[k], "b": b[k]} for k in a if k in b and a[k] != b[k]}
    if added:
        out["added"] = dict(sorted(added.items()))
    if removed:
        out["removed"] = dict(sorted(removed.items()))
    if changed:
        out["changed"] = dict(sorted(changed.items()))
    return out


def _ab(a: Any, b: Any) -> dict[str, Any] | None:
    return None if a == b else {"a": a, "b": b}


def diff_notebook_parameters(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Notebook parameters (papermill's) that differ: name → {a, b}."""
    pa, pb = a.get("parameters") or {}, b.get("parameters") or {}
    return {k: {"a": pa.get(k), "b": pb.get(k)} for k in sorted(set(pa) | set(pb)) if pa.get(k) != pb.get(k)}


def diff_workflow(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Notebook, checksum, git commit/branch/dirty that differ."""
    wa, wb = a.get("workflow") or {}, b.get("workflow") or {}
    ga, gb = wa.get("git") or {}, wb.get("git") or {}
    out = {}
    for key, va, vb in (("notebook", wa.get("notebook"), wb.get("notebook")),
                        ("checksum", wa.get("checksum"), wb.get("checksum")),
                        ("commit", ga.get("commit"), gb.get("commit")),
                        ("branch", ga.get("branch"), gb.get("branch")),
                        ("dirty", ga.get("dirty"), gb.get("dirty"))):
        change = _ab(va, vb)
        if change:
            out[key] = change
    return out


def thread_summary(env: dict[str, Any]) -> dict[str, Any]:
    """Thread pools as ``{api: threads}`` (the largest pool of each kind)."""
    out: dict[str, Any] = {}
    for pool in env.get("threads") or []:
        api = pool.get("internal_api") or pool.get("user_api") or "?"
        n = pool.get("num_threads")
        if isinstance(n, int):
            out[api] = max(out.get(api, 0), n)
    return dict(sorted(out.items()))


def diff_environment(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Python, platform, packages, threads, GPU, CPU, variables, seeds that differ.

    Accepts two whole locks or two ``environment`` sections.
    """
    ea = a.get("environment", a) if "notelock" in a else a
    eb = b.get("environment", b) if "notelock" in b else b
    ea, eb = ea or {}, eb or {}
    out: dict[str, Any] = {}
    simple = {
        "python": lambda e: (e.get("python") or {}).get("version"),
        "implementation": lambda e: (e.get("python") or {}).get("implementation"),
        "platform": lambda e: " ".join(str((e.get("platform") or {}).get(k) or "")
                                       for k in ("system", "release", "machine")).strip() or None,
        "cpu": lambda e: (e.get("cpu") or {}).get("model"),
        "cpus": lambda e: (e.get("cpu") or {}).get("available") or (e.get("cpu") or {}).get("count"),
        "gpu": lambda e: [g.get("name") for g in e.get("gpu") or []] or None,
    }
    for key, get in simple.items():
        change = _ab(get(ea), get(eb))
        if change:
            out[key] = change
    for key in ("packages", "variables", "dependency_locks", "seeds"):
        change = _changed_dict(ea.get(key) or {}, eb.get(key) or {})
        if change:
            out[key] = change
    threads = _changed_dict(thread_summary(ea), thread_summary(eb))
    if threads:
        out["threads"] = threads
    return out


def _env_value(v: Any) -> str:
    return ", ".join(v) if isinstance(v, list) else ("none" if v is None else str(v))


def environment_lines(change: dict[str, Any], limit: int = 12) -> list[str]:
    """``Python 3.9 → 3.11``, ``pandas 2.2.3 → 3.1.1``, ``threads openblas 8 → 2``…"""
    lines = []
    names = {"python": "Python", "implementation": "Python implementation", "platform": "platform",
             "cpu": "CPU", "cpus": "CPUs", "gpu": "GPU"}
    for key, label in names.items():
        if key in change:
            va, vb = change[key]["a"], change[key]["b"]
            lines.append(f"{label} {_env_value(va)} → {_env_value(vb)}")
    threads = change.get("threads", {})
    for api, ab in threads.get("changed", {}).items():
        lines.append(f"threads ({api}) {ab['a']} → {ab['b']}")
    for api, n in threads.get("added", {}).items():
        lines.append(f"threads ({api}) + {n}")
    for api, n in threads.get("removed", {}).items():
        lines.append(f"threads ({api}) - {n}")
    for key, label in (("packages", ""), ("variables", "$"), ("dependency_locks", "lock "), ("seeds", "seed ")):
        section = change.get(key, {})
        entries = [f"{label}{n} {ab['a']} → {ab['b']}" for n, ab in section.get("changed", {}).items()]
        entries += [f"+ {label}{n} {v}" for n, v in section.get("added", {}).items()]
        entries += [f"- {label}{n} {v}" for n, v in section.get("removed", {}).items()]
        if len(entries) > limit:
            entries = entries[:limit] + [f"… and {len(entries) - limit} more {key}"]
        lines.extend(entries)
    return lines


# ---------------------------------------------------------------- nodes


def _node_reasons(na: dict[str, Any], nb: dict[str, Any], a: dict[str, Any], b: dict[str, Any],
                  inputs_changed: bool) -> tuple[list[str], dict[str, Any]]:
    """Why a node's own content changed (empty: it did not), and details."""
    op = na.get("op")
    reasons: list[str] = []
    details: dict[str, Any] = {}
    if op == "read":
        if na.get("reader") != nb.get("reader"):
            reasons.append(f"reader {na.get('reader')} → {nb.get('reader')}")
        if na.get("options") != nb.get("options"):
            reasons.append("reader options changed")
            details["options"] = _changed_dict(na.get("options") or {}, nb.get("options") or {})
        if na.get("query") != nb.get("query"):
            reasons.append("query changed")
        if na.get("connection") != nb.get("connection"):
            reasons.append("connection changed")
        if na.get("content") != nb.get("content"):
            reasons.append("content changed")
        return reasons, details
    if op == "import":
        if na.get("source") != nb.get("source"):
            reasons.append(f"{nb.get('lock')} changed (lock {str(na.get('source'))[9:21]} → "
                           f"{str(nb.get('source'))[9:21]})")
        if na.get("content") != nb.get("content"):
            reasons.append(f"imported {nb.get('name')} changed ({str(na.get('content'))[9:21]} → "
                           f"{str(nb.get('content'))[9:21]})")
        return reasons, details
    if op == "cell":
        if na.get("code") != nb.get("code"):
            reasons.append("code changed")
        if na.get("options") != nb.get("options"):
            reasons.append("options changed")
        uses = _changed_dict(na.get("uses") or {}, nb.get("uses") or {})
        if uses:
            reasons.append("notebook functions changed: " + ", ".join(
                sorted({*uses.get("changed", {}), *uses.get("added", {}), *uses.get("removed", {})})))
        if not inputs_changed:
            reads = _changed_dict(na.get("reads") or {}, nb.get("reads") or {})
            if reads:
                names = sorted({*reads.get("changed", {}), *reads.get("added", {}), *reads.get("removed", {})})
                reasons.append("input variables changed outside locked cells: " + ", ".join(names))
        return reasons, details
    if na.get("estimator") != nb.get("estimator"):
        reasons.append(f"estimator {na.get('estimator')} → {nb.get('estimator')}")
    if na.get("method") != nb.get("method"):
        reasons.append(f"method {na.get('method')} → {nb.get('method')}")
    if op == "fit":
        pa, pb = _flatten(na.get("params") or {}), _flatten(nb.get("params") or {})
        params = _changed_dict(pa, pb)
        if params:
            details["params"] = params
            reasons.append("parameters: " + "; ".join(param_lines(params)))
    if not inputs_changed and na.get("args") != nb.get("args"):
        changed = _changed_dict(na.get("args") or {}, nb.get("args") or {})
        names = sorted({*changed.get("changed", {}), *changed.get("added", {}), *changed.get("removed", {})})
        reasons.append("arguments changed outside locked cells: " + ", ".join(names))
    return reasons, details


def param_lines(change: dict[str, Any]) -> list[str]:
    """``max_depth: 10 → 12`` for each changed, added or removed parameter."""
    lines = [f"{k}: {_v(ab['a'])} → {_v(ab['b'])}" for k, ab in change.get("changed", {}).items()]
    lines += [f"+ {k}: {_v(v)}" for k, v in change.get("added", {}).items()]
    lines += [f"- {k}: {_v(v)}" for k, v in change.get("removed", {}).items()]
    return lines


def _v(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"float"}:
        return str(value["float"])
    return repr(value) if isinstance(value, str) else str(value)


def _read_change(na: dict[str, Any], nb: dict[str, Any], a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    sa = a.get("schemas", {}).get(na.get("schema"), None) if na.get("schema") else None
    sb = b.get("schemas", {}).get(nb.get("schema"), None) if nb.get("schema") else None
    change = schemas.compare(sa, na.get("rows"), sb, nb.get("rows"))
    label = schemas.source_label(nb)
    entry = {"a": None, "b": None, "source": label, "reader": nb.get("reader"),
             "content_changed": na.get("content") != nb.get("content"),
             "schema": change, "message": schemas.message(label, change)}
    if change["rows"]:
        ra, rb = change["rows"]
        if isinstance(ra, int) and isinstance(rb, int):
            entry["rows_delta"] = rb - ra
    return entry


def _cell_diff(ca: dict[str, Any] | None, cb: dict[str, Any] | None, ia: int | None, ib: int | None) -> dict[str, Any]:
    src_a = (ca or {}).get("source", "")
    src_b = (cb or {}).get("source", "")
    name_a = f"a: cell {ia} (In [{(ca or {}).get('execution_count') or '?'}])" if ca else "a: (no cell)"
    name_b = f"b: cell {ib} (In [{(cb or {}).get('execution_count') or '?'}])" if cb else "b: (no cell)"
    text = "".join(difflib.unified_diff(src_a.splitlines(keepends=True), src_b.splitlines(keepends=True),
                                        fromfile=name_a, tofile=name_b, lineterm="\n"))
    if text and not text.endswith("\n"):
        text += "\n"
    status = "changed" if ca and cb else ("added" if cb else "removed")
    return {"a": ia, "b": ib, "status": status, "locked": bool((cb or ca or {}).get("locked")),
            "a_node": (ca or {}).get("node"), "b_node": (cb or {}).get("node"), "diff": text}


def diff_locks(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The semantic diff from lock *a* to lock *b*, as JSON-able data.

    Keys: ``identical`` (same identity and every node's result the same),
    ``identity`` ({a, b}), ``workflow``, ``environment``, ``data`` (one entry
    per changed, added or removed read), ``code`` (changed cells with a
    unified diff), ``parameters`` (per estimator), ``outputs`` (nodes whose
    result differs), ``nodes`` (every changed node with its classification),
    ``root_causes`` and ``consequences`` (node ids in *b*, or in *a* for
    removed nodes), ``added`` / ``removed`` (node ids).
    """
    pairs, only_a, only_b = match_nodes(a, b)
    na_all, nb_all = a.get("nodes", {}), b.get("nodes", {})
    a_to_b = {pa: pb for pa, pb in pairs}
    changed_b: set[str] = set()
    classified: list[dict[str, Any]] = []
    # pairs are in execution order, so inputs are classified before the nodes
    # that use them; a cell comes after the nodes recorded inside it, which
    # its identity covers
    for aid, bid in _inner_first(pairs, nb_all):
        na, nb = na_all[aid], nb_all[bid]
        if aid == bid:
            if na.get("output") != nb.get("output"):
                inner_changed = [n for n in _inner_of(b, bid) if n in changed_b]
                cause = "consequence" if inner_changed else "result"
                classified.append({"a": aid, "b": bid, "op": nb["op"], "label": node_label(nb),
                                   "status": cause, "reasons": (["nodes inside it changed: " + ", ".join(inner_changed)]
                                                                if inner_changed else
                                                                ["same computation, different result"]),
                                   "upstream": inner_changed})
                changed_b.add(bid)
            continue
        upstream = [i for i in (*nb.get("inputs", []), *nb.get("nodes", []))
                    if i in changed_b or i not in a_to_b.values()]
        inputs_changed = bool(upstream) or len(na.get("inputs", [])) != len(nb.get("inputs", []))
        reasons, details = _node_reasons(na, nb, a, b, inputs_changed)
        status = "root cause" if reasons else ("consequence" if inputs_changed else "root cause")
        if not reasons and not inputs_changed:
            reasons = ["identity changed"]
        entry = {"a": aid, "b": bid, "op": nb["op"], "label": node_label(nb), "status": status,
                 "reasons": reasons, "upstream": upstream, **details}
        classified.append(entry)
        changed_b.add(bid)

    data = []
    for entry in classified:
        if entry["op"] == "read":
            na, nb = na_all[entry["a"]], nb_all[entry["b"]]
            read = _read_change(na, nb, a, b)
            read.update(a=entry["a"], b=entry["b"], root_cause=entry["status"] == "root cause")
            data.append(read)
    for nid in only_a:
        if na_all[nid]["op"] == "read":
            data.append({"a": nid, "b": None, "source": schemas.source_label(na_all[nid]), "status": "removed"})
    for nid in only_b:
        if nb_all[nid]["op"] == "read":
            data.append({"a": None, "b": nid, "source": schemas.source_label(nb_all[nid]), "status": "added"})

    a_cells, b_cells = a.get("cells", []), b.get("cells", [])
    code = [_cell_diff(a_cells[i] if i is not None else None, b_cells[j] if j is not None else None, i, j)
            for i, j in align_cells(a_cells, b_cells)
            if i is None or j is None or a_cells[i].get("source") != b_cells[j].get("source")]

    parameters = [{"a": e["a"], "b": e["b"], "estimator": nb_all[e["b"]].get("estimator"),
                   "changes": e["params"], "lines": param_lines(e["params"])}
                  for e in classified if e.get("params")]
    outputs = [{"a": e["a"], "b": e["b"], "op": e["op"], "label": e["label"],
                "output": {"a": na_all[e["a"]].get("output"), "b": nb_all[e["b"]].get("output")},
                "status": e["status"]}
               for e in classified if na_all[e["a"]].get("output") != nb_all[e["b"]].get("output")]
    root = [e["b"] for e in classified if e["status"] == "root cause"]
    root += [nid for nid in only_b if nb_all[nid]["op"] in ("read", "cell", "fit")]
    consequences = [e["b"] for e in classified if e["status"] == "consequence"]
    identical = (a.get("identity") == b.get("identity") and not classified and not only_a and not only_b)
    return {
        "identical": identical,
        "identity": {"a": a.get("identity"), "b": b.get("identity")},
        "workflow": diff_workflow(a, b),
        "notebook_parameters": diff_notebook_parameters(a, b),
        "environment": diff_environment(a, b),
        "data": data,
        "code": code,
        "parameters": parameters,
        "outputs": outputs,
        "nodes": classified,
        "added": list(only_b),
        "removed": list(only_a),
        "root_causes": root,
        "consequences": consequences,
    }


def _inner_first(pairs: list[tuple[str, str]], nodes_b: dict[str, Any]) -> list[tuple[str, str]]:
    """*pairs* with each cell pair moved after the pairs of the nodes inside it."""
    out: list[tuple[str, str]] = []
    waiting: list[tuple[tuple[str, str], set[str]]] = []
    for pair in pairs:
        node = nodes_b.get(pair[1], {})
        if node.get("op") == "cell" and node.get("nodes"):
            waiting.append((pair, set(node["nodes"])))
            continue
        out.append(pair)
        for item in list(waiting):
            item[1].discard(pair[1])
            if not item[1]:
                waiting.remove(item)
                out.append(item[0])
    out.extend(p for p, _ in waiting)
    return out


def _inner_of(lock: dict[str, Any], cell_node: str) -> list[str]:
    out: list[str] = []
    for cell in lock.get("cells", []):
        if cell.get("node") == cell_node:
            out.extend(n for n in cell.get("nodes", []) if n not in out)
    return out


# ---------------------------------------------------------------- text


def render_text(diff: dict[str, Any], a_name: str = "a", b_name: str = "b") -> str:
    """The diff as grouped plain text (the ``notelock diff`` output)."""
    if diff.get("identical"):
        return f"identical computations: {a_name} and {b_name} have identity {short(diff['identity']['a'], 16)}"
    out = [f"notelock diff {a_name} → {b_name}"]
    ida, idb = diff["identity"]["a"], diff["identity"]["b"]
    out.append(f"  identity {short(ida, 16)} → {short(idb, 16)}" if ida != idb
               else f"  identity {short(ida, 16)} (same computation; results differ)")

    def section(title: str, lines: list[str]) -> None:
        if lines:
            out.append("")
            out.append(title)
            out.extend("  " + ln if ln else "" for ln in lines)

    section("notebook parameters (ROOT CAUSE)", [f"{k}: {_v(ab['a'])} → {_v(ab['b'])}"
                                                for k, ab in diff.get("notebook_parameters", {}).items()])
    section("workflow", [f"{k}: {_v(ab['a'])} → {_v(ab['b'])}" for k, ab in diff.get("workflow", {}).items()])
    section("environment", environment_lines(diff.get("environment", {})))
    data_lines = []
    for read in diff.get("data", []):
        if read.get("status") in ("added", "removed"):
            data_lines.append(f"{'+' if read['status'] == 'added' else '-'} {read['source']} ({read['status']})")
            continue
        tag = "ROOT CAUSE" if read.get("root_cause") else "changed"
        data_lines.append(f"[{tag}] {read['message']}" + ("" if read.get("content_changed") else " (same content)"))
    section("data", data_lines)
    code_lines: list[str] = []
    for cell in diff.get("code", []):
        code_lines.extend(cell["diff"].rstrip("\n").splitlines())
    section("code", code_lines)
    param_out = []
    for p in diff.get("parameters", []):
        param_out.append(f"{str(p.get('estimator', '')).rsplit('.', 1)[-1]} ({p['b']}): " + "; ".join(p["lines"]))
    section("parameters", param_out)
    out_lines = []
    for o in diff.get("outputs", []):
        out_lines.append(f"{o['b']}  {o['label']}: {short(o['output']['a'])} → {short(o['output']['b'])}  ({o['status']})")
    section("outputs", out_lines)
    causes = []
    for e in diff.get("nodes", []):
        if e["status"] == "root cause":
            causes.append(f"ROOT CAUSE  {e['b']}  {e['label']}: " + "; ".join(e["reasons"]))
    for e in diff.get("nodes", []):
        if e["status"] == "consequence":
            upstream = f" (from {', '.join(e['upstream'])})" if e["upstream"] else ""
            causes.append(f"consequence {e['b']}  {e['label']}{upstream}")
    for e in diff.get("nodes", []):
        if e["status"] == "result":
            causes.append(f"result      {e['b']}  {e['label']}: same computation, different result")
    causes += [f"added       {nid}" for nid in diff.get("added", [])]
    causes += [f"removed     {nid}" for nid in diff.get("removed", [])]
    section("nodes", causes)
    return "\n".join(out)


__all__ = ["diff_locks", "render_text", "align_cells", "match_nodes", "diff_environment", "environment_lines",
           "diff_workflow", "param_lines", "thread_summary"]
