"""The audit report: one self-contained HTML page of a lock (``notelock report``).

No script, no stylesheet or image from elsewhere: an auditor opens the file
in any browser, offline, without Jupyter. Every value from the lock is
escaped (a cell's source is the user's text, a read's path or query too).

Sections: the verdicts (the offline check, run when the report is made, and
the last replay when its ``--json`` report is given), the graph (an inline
SVG, nodes in layers by their inputs), the data sources (content hash,
schema, rows, snapshot), the parameters of every estimator, the code of every
cell with its node and source hash, the environment, the workflow and git.
"""

from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path
from typing import Any

from .check import check_lock
from .history import resolve_lock_source
from .lockfile import load_lock, ordered_node_ids
from .render import node_label, short
from .unpack import is_pack, unpack

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #ccc;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;
vertical-align:top}th{background:#f4f4f4}code,pre{font:12px ui-monospace,monospace}
pre{background:#f8f8f8;border:1px solid #e4e4e4;padding:.6em;overflow:auto;white-space:pre-wrap}
.ok{color:#176f2c}.fail{color:#b00020;font-weight:600}.muted{color:#777}svg text{font:11px sans-serif}
"""

_OP_COLOURS = {"read": "#dbeafe", "fit": "#fde68a", "predict": "#d1fae5", "transform": "#e9d5ff",
               "score": "#fecaca", "cell": "#f3f4f6", "import": "#fbcfe8"}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _table(headers: list[str], rows: list[list[Any]], raw: bool = False) -> str:
    if not rows:
        return '<p class="muted">none</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c if raw else _e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _layers(lock: dict[str, Any], ids: list[str]) -> dict[str, int]:
    nodes = lock.get("nodes", {})
    depth: dict[str, int] = {}

    def level(nid: str, seen: frozenset[str] = frozenset()) -> int:
        if nid in depth:
            return depth[nid]
        inputs = [i for i in nodes.get(nid, {}).get("inputs", []) if i in nodes and i not in seen]
        depth[nid] = 0 if not inputs else 1 + max(level(i, seen | {nid}) for i in inputs)
        return depth[nid]

    for nid in ids:
        level(nid)
    return depth


def graph_svg(lock: dict[str, Any]) -> str:
    """The computation's nodes (cells left out) in layers, edges from inputs."""
    nodes = lock.get("nodes", {})
    ids = [n for n in ordered_node_ids(lock) if nodes[n].get("op") != "cell"]
    if not ids:
        return '<p class="muted">no nodes besides cells</p>'
    depth = _layers(lock, ids)
    columns: dict[int, list[str]] = {}
    for nid in ids:
        columns.setdefault(depth[nid], []).append(nid)
    w, h, gx, gy = 230, 46, 60, 18
    pos = {nid: (20 + d * (w + gx), 20 + i * (h + gy)) for d, col in columns.items() for i, nid in enumerate(col)}
    width = 40 + (max(columns) + 1) * (w + gx)
    height = 40 + max(len(c) for c in columns.values()) * (h + gy)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="computation graph">']
    for nid in ids:
        x2, y2 = pos[nid]
        for inp in nodes[nid].get("inputs", []):
            if inp in pos:
                x1, y1 = pos[inp]
                parts.append(f'<line x1="{x1 + w}" y1="{y1 + h // 2}" x2="{x2}" y2="{y2 + h // 2}" '
                             'stroke="#888" stroke-width="1.2"/>')
    for nid in ids:
        x, y = pos[nid]
        node = nodes[nid]
        label = node_label(node)
        label = label if len(label) <= 34 else label[:33] + "…"
        fill = _OP_COLOURS.get(str(node.get("op")), "#eee")
        parts.append(f'<g><title>{_e(nid)}</title><rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" '
                     f'fill="{fill}" stroke="#555"/><text x="{x + 8}" y="{y + 18}">{_e(nid)}</text>'
                     f'<text x="{x + 8}" y="{y + 35}">{_e(label)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _verdicts(check: dict[str, Any] | None, replay: dict[str, Any] | None) -> str:
    out = []
    if check is not None:
        rows = [[f'<span class="{"ok" if f["ok"] else "fail"}">{"ok" if f["ok"] else "FAIL"}</span>',
                 _e(f["check"]), _e(f["text"])] for f in check.get("findings", [])]
        verdict = "every check passed" if check.get("exit_code") == 0 else f"exit {check.get('exit_code')}"
        out.append(f"<h3>Offline check (when this report was made): {_e(verdict)}</h3>")
        out.append(_table(["", "check", "finding"], rows, raw=True))
    if replay is not None:
        summary = replay.get("summary") or {}
        out.append(f"<h3>Last replay: exit {_e(replay.get('exit_code'))} — {_e(summary.get('reproduced', 0))} "
                   f"reproduced, {_e(summary.get('DIVERGED', 0))} diverged ({_e(replay.get('mode'))} inputs)</h3>")
        for line in replay.get("messages") or []:
            out.append(f"<p>{_e(line)}</p>")
        out.append(_table(["verdict", "node", "label", "detail"],
                          [[v.get("verdict"), v.get("id"), v.get("label"), v.get("detail")]
                           for v in replay.get("verdicts") or []]))
    if not out:
        out.append('<p class="muted">no verdicts given</p>')
    return "".join(out)


def _sources(lock: dict[str, Any]) -> str:
    schemas = lock.get("schemas") or {}
    out = []
    for nid in ordered_node_ids(lock):
        node = lock["nodes"][nid]
        if node.get("op") not in ("read", "import"):
            continue
        if node.get("op") == "import":
            out.append(f"<h3>{_e(nid)} — {_e(node_label(node))}</h3>")
            out.append(_table(["field", "value"], [["source lock identity", node.get("source")],
                                                   ["source node", node.get("node")],
                                                   ["content", node.get("content")],
                                                   ["pinned copy", node.get("snapshot")]]))
            continue
        what = node.get("path") or node.get("url") or node.get("query") or node.get("buffer")
        out.append(f"<h3>{_e(nid)} — {_e(node.get('reader'))}</h3>")
        rows = [["source", what], ["connection", node.get("connection")], ["content hash", node.get("content")],
                ["rows × columns", f"{node.get('rows')} × {node.get('columns')}"],
                ["output hash", node.get("output")],
                ["snapshot", f"{node['snapshot']} ({node.get('snapshot_format')})" if node.get("snapshot")
                 else "not pinned (recorded by hash only)"],
                ["options", node.get("options")]]
        out.append(_table(["field", "value"], [r for r in rows if r[1] not in (None, {}, "")]))
        columns = (schemas.get(node.get("schema")) or {}).get("columns") or []
        out.append(_table(["column", "dtype", "nulls"], [[c.get("name"), c.get("dtype"), c.get("nulls")]
                                                         for c in columns]))
    return "".join(out) or '<p class="muted">no reads recorded</p>'


def _flatten(params: Any, prefix: str = "") -> dict[str, Any]:
    """Nested estimator parameters as ``step__param`` → value."""
    if not isinstance(params, dict):
        return {prefix: params}
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}__{key}" if prefix else str(key)
        if isinstance(value, dict) and set(value) == {"estimator", "params"}:
            out[name] = value["estimator"]
            out.update(_flatten(value["params"], name))
        else:
            out[name] = value
    return out


def _parameters(lock: dict[str, Any]) -> str:
    out = []
    for nid in ordered_node_ids(lock):
        node = lock["nodes"][nid]
        if node.get("op") != "fit":
            continue
        params = _flatten(node.get("params") or {})
        out.append(f"<h3>{_e(nid)} — {_e(node.get('estimator'))} ({_e(node.get('method'))})</h3>")
        out.append(_table(["parameter", "value"], [[k, v] for k, v in sorted(params.items())]))
    notebook = lock.get("parameters") or {}
    if notebook:
        out.insert(0, "<h3>Notebook parameters</h3>" + _table(["name", "value"], [[k, v] for k, v in
                                                                                sorted(notebook.items())]))
    return "".join(out) or '<p class="muted">no estimator fits recorded</p>'


def _cells(lock: dict[str, Any]) -> str:
    out = []
    for i, cell in enumerate(lock.get("cells", [])):
        flags = ["locked" if cell.get("locked") else "not locked"]
        if "superseded_by" in cell:
            flags.append(f"superseded by cell {cell['superseded_by']}")
        if cell.get("error"):
            flags.append(f"raised {cell['error']}")
        out.append(f"<h3>cell {i} — In [{_e(cell.get('execution_count') or '?')}] — {_e(', '.join(flags))}"
                   + (f" — node <code>{_e(cell['node'])}</code>" if cell.get("node") else "") + "</h3>")
        out.append(f"<pre>{_e(cell.get('source'))}</pre>")
        if cell.get("source_hash"):
            out.append(f'<p class="muted">source hash {_e(cell["source_hash"])}</p>')
    return "".join(out) or '<p class="muted">no cells</p>'


def _environment(lock: dict[str, Any]) -> str:
    env = lock.get("environment") or {}
    python = env.get("python") or {}
    plat = env.get("platform") or {}
    rows: list[list[Any]] = [["python", f"{python.get('version')} ({python.get('implementation')}, {python.get('prefix_kind')})"],
            ["platform", f"{plat.get('system')} {plat.get('release')} {plat.get('machine')} "
                         f"{plat.get('distribution') or ''}".strip()],
            ["seeds", env.get("seeds")], ["variables", env.get("variables")],
            ["dependency locks", env.get("dependency_locks")], ["gpu", env.get("gpu")]]
    packages = env.get("packages") or {}
    return (_table(["", ""], [r for r in rows if r[1] not in (None, {}, "")])
            + f"<h3>{len(packages)} packages</h3>"
            + _table(["package", "version"], [[k, v] for k, v in sorted(packages.items())]))


def _workflow(lock: dict[str, Any]) -> str:
    wf = lock.get("workflow") or {}
    git = wf.get("git") or {}
    run = lock.get("run") or {}
    rows = [["notebook", wf.get("notebook")], ["notebook checksum", wf.get("checksum")],
            ["git commit", git.get("commit")], ["git branch", git.get("branch")], ["git dirty", git.get("dirty")],
            ["remote", git.get("remote")], ["run started", run.get("started")], ["last updated", run.get("updated")]]
    return _table(["", ""], [r for r in rows if r[1] not in (None, "")])


def report_html(lock: dict[str, Any], name: str, *, check: dict[str, Any] | None = None,
                replay: dict[str, Any] | None = None, pack_id: str | None = None) -> str:
    """The whole page."""
    title = f"notelock report — {name}"
    head = [f"<p>identity <code>{_e(lock.get('identity'))}</code> · {len(lock.get('nodes', {}))} nodes · "
            f"{len(lock.get('cells', []))} cells" + (f" · pack <code>{_e(pack_id)}</code>" if pack_id else "")
            + "</p>"]
    sections = [("Verdicts", _verdicts(check, replay)), ("Graph", graph_svg(lock)),
                ("Data sources", _sources(lock)), ("Parameters", _parameters(lock)), ("Code, cell by cell",
                                                                                     _cells(lock)),
                ("Environment", _environment(lock)), ("Workflow and git", _workflow(lock))]
    nodes = _table(["node", "op", "label", "inputs", "output"],
                   [[nid, lock["nodes"][nid].get("op"), node_label(lock["nodes"][nid]),
                     ", ".join(lock["nodes"][nid].get("inputs", [])), short(lock["nodes"][nid].get("output"))]
                    for nid in ordered_node_ids(lock)])
    body = "".join(f"<h2>{_e(t)}</h2>{content}" + (nodes if t == "Graph" else "") for t, content in sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f'<meta name="generator" content="notelock"><style>{_CSS}</style></head>'
            f"<body><h1>{_e(title)}</h1>{''.join(head)}{body}</body></html>\n")


def report_for(spec: str | os.PathLike[str], replay: dict[str, Any] | None = None) -> tuple[str, str]:
    """The page for *spec* (a lock, its notebook, ``NB.ipynb~N``, or a pack) and the
    lock's display name; the offline check runs now (not for an earlier version)."""
    if is_pack(spec):
        with tempfile.TemporaryDirectory(prefix="notelock-report-") as tmp:
            unpacked = unpack(spec, tmp)
            name = f"{Path(spec).name}:{unpacked.lock_path.name}"
            found = check_lock(unpacked.lock_path, name=name).as_dict()
            lock = load_lock(unpacked.lock_path)
            return report_html(lock, name, check=found, replay=replay, pack_id=unpacked.pack_id), name
    lock, path, name = resolve_lock_source(str(spec))
    check: dict[str, Any] | None = check_lock(path).as_dict() if name == path.name else None
    return report_html(lock, name, check=check, replay=replay), name


__all__ = ["report_html", "graph_svg", "report_for"]
