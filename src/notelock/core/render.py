"""Human-readable views of a lock: labels, a text table and an HTML summary.

Used by the magics (rich HTML in the notebook), the CLI (text) and anything
else that shows a lock to a person. Pure functions of the lock data.
"""

from __future__ import annotations

import html
from typing import Any

from .hidden import hidden_state
from .lockfile import ordered_node_ids


def short(value: str | None, n: int = 12) -> str:
    """The first *n* hex digits of a hash (or the text itself)."""
    if not value:
        return "—"
    return value.split(":", 1)[-1][:n]


def node_label(node: dict[str, Any]) -> str:
    """``read_csv transactions.csv — 100,000 × 7``, ``fit RandomForestClassifier``…"""
    op = node.get("op")
    if op == "read":
        reader = str(node.get("reader", "read")).rsplit(".", 1)[-1]
        what = node.get("path") or node.get("url") or node.get("buffer") or _one_line(node.get("query"), 50)
        label = f"{reader} {what}" if what else reader
        if node.get("rows") is not None and node.get("columns") is not None:
            label += f" — {node['rows']:,} × {node['columns']:,}"
        return label
    if op == "import":
        return f"import {node.get('name', '?')} from {node.get('lock', '?')}"
    if op == "cell":
        writes = list(node.get("writes", {}))
        shown = ", ".join(writes[:4]) + (f", +{len(writes) - 4}" if len(writes) > 4 else "")
        return f"cell → {shown}" if writes else "cell"
    estimator = str(node.get("estimator", "")).rsplit(".", 1)[-1]
    method = node.get("method", op)
    label = f"{method} {estimator}".strip()
    if node.get("rows") is not None:
        label += f" — {node['rows']:,} rows"
    return label


def _one_line(text: Any, limit: int) -> str:
    if not text:
        return ""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def summary_rows(lock: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per node in execution order: id, kind, label, duration, inputs."""
    durations = lock.get("run", {}).get("durations_s", {})
    rows = []
    for nid in ordered_node_ids(lock):
        node = lock["nodes"][nid]
        rows.append({"id": nid, "op": node.get("op"), "label": node_label(node),
                     "duration": durations.get(nid), "inputs": list(node.get("inputs", [])),
                     "opaque": bool(node.get("opaque"))})
    return rows


def text_summary(lock: dict[str, Any], name: str = "") -> str:
    """The lock as plain text: header, node table, edges."""
    wf = lock.get("workflow", {}) or {}
    git = wf.get("git", {}) or {}
    env = lock.get("environment", {}) or {}
    lines = [f"notelock lock{(' ' + name) if name else ''}",
             f"  identity   {lock.get('identity', '—')}"]
    if wf:
        lines.append(f"  notebook   {wf.get('notebook', '—')}  checksum {short(wf.get('checksum'))}"
                     + ("" if wf.get("saved", True) is not False else "  (unsaved edits)"))
    if git.get("repository"):
        lines.append(f"  git        {short(git.get('commit'))} on {git.get('branch') or '(detached)'}"
                     + ("  DIRTY" if git.get("dirty") else ""))
    py = (env.get("python") or {}).get("version")
    if py:
        pkgs = env.get("packages", {})
        key = ", ".join(f"{p} {pkgs[p]}" for p in ("pandas", "numpy", "scikit-learn") if p in pkgs)
        lines.append(f"  python     {py}" + (f"  ({key})" if key else ""))
    cells = lock.get("cells", [])
    lines.append(f"  cells      {len(cells)} executed, {sum(1 for c in cells if c.get('locked'))} locked")
    rows = summary_rows(lock)
    lines.append(f"  nodes      {len(rows)}")
    if rows:
        lines.append("")
        width = max(len(r["id"]) for r in rows)
        for r in rows:
            flag = "  (opaque)" if r["opaque"] else ""
            lines.append(f"  {r['id']:<{width}}  {r['label']}  {_duration(r['duration'])}{flag}".rstrip())
        edges = [(i, r["id"]) for r in rows for i in r["inputs"]]
        if edges:
            lines.append("")
            lines.append("  edges")
            for src, dst in edges:
                lines.append(f"    {src} → {dst}")
        nodes = lock.get("nodes", {})
        inside = [(r["id"], nodes[r["id"]].get("nodes") or []) for r in rows if nodes.get(r["id"], {}).get("nodes")]
        if inside:
            lines.append("")
            lines.append("  recorded inside cells")
            for cell, inner in inside:
                lines.append(f"    {cell} ⊃ {', '.join(inner)}")
    return "\n".join(lines)


_STYLE = """<style>
.notelock-summary{font-family:var(--jp-ui-font-family,sans-serif);font-size:13px}
.notelock-summary table{border-collapse:collapse}
.notelock-summary td,.notelock-summary th{padding:2px 8px;text-align:left;border-bottom:1px solid var(--jp-border-color2,#ddd)}
.notelock-summary code{font-size:12px}
.notelock-badge{padding:0 4px;border-radius:3px;background:#d9480f;color:#fff;font-size:11px}
</style>"""


def html_summary(lock: dict[str, Any], name: str = "") -> str:
    """The lock as an HTML table for the notebook."""
    esc = html.escape
    wf = lock.get("workflow", {}) or {}
    git = wf.get("git", {}) or {}
    rows = summary_rows(lock)
    head = [f"<b>notelock</b> {esc(name)} · identity <code>{esc(short(lock.get('identity'), 16))}</code>"]
    if wf.get("checksum"):
        head.append(f"notebook checksum <code>{esc(short(wf['checksum']))}</code>")
    if git.get("repository"):
        head.append(f"git <code>{esc(short(git.get('commit')))}</code>"
                    + (' <span class="notelock-badge">dirty</span>' if git.get("dirty") else ""))
    body = ["<tr><th>node</th><th>kind</th><th>what</th><th>duration</th><th>inputs</th></tr>"]
    for r in rows:
        inputs = ", ".join(f"<code>{esc(i)}</code>" for i in r["inputs"]) or "—"
        badge = ' <span class="notelock-badge">opaque</span>' if r["opaque"] else ""
        body.append(f"<tr><td><code>{esc(r['id'])}</code></td><td>{esc(str(r['op']))}</td>"
                    f"<td>{esc(r['label'])}{badge}</td><td>{esc(_duration(r['duration']))}</td>"
                    f"<td>{inputs}</td></tr>")
    cells = lock.get("cells", [])
    foot = f"{len(cells)} cells executed, {sum(1 for c in cells if c.get('locked'))} locked, {len(rows)} nodes"
    return (f'{_STYLE}<div class="notelock-summary"><div>{" · ".join(head)}</div>'
            f"<table>{''.join(body)}</table><div>{esc(foot)}</div></div>")


class LockView:
    """Displays as HTML in a notebook and as text elsewhere."""

    def __init__(self, lock: dict[str, Any], name: str = ""):
        self.lock, self.name = lock, name

    def _repr_html_(self) -> str:
        return html_summary(self.lock, self.name)

    def __repr__(self) -> str:
        return text_summary(self.lock, self.name)


def status_html(lock: dict[str, Any], lock_path: Any) -> str:
    """Workflow state of a live lock: notebook checksum, unsaved edits, git."""
    esc = html.escape
    wf = lock.get("workflow", {}) or {}
    git = wf.get("git", {}) or {}
    rows = [("lock file", str(lock_path)), ("identity", lock.get("identity", "—")),
            ("notebook", wf.get("notebook") or "unknown"),
            ("checksum", wf.get("checksum") or "—"),
            ("saved", {True: "yes", False: "no — the kernel ran edits not saved to disk",
                       None: "—"}.get(wf.get("saved"), "—"))]
    if git.get("repository"):
        state = "dirty" if git.get("dirty") else "clean"
        if git.get("dirty") and wf.get("allow_dirty"):
            state += " (allowed)"
        rows += [("git commit", git.get("commit") or "—"), ("git branch", git.get("branch") or "(detached)"),
                 ("git tree", state)]
        if git.get("modified"):
            rows.append(("modified", ", ".join(git["modified"])))
    else:
        rows.append(("git", "not a git repository"))
    for warning in lock_warnings(lock):
        rows.append(("warning", warning))
    body = "".join(f"<tr><th>{esc(k)}</th><td><code>{esc(str(v))}</code></td></tr>" for k, v in rows)
    return f'{_STYLE}<div class="notelock-summary"><table>{body}</table></div>'


def lock_warnings(lock: dict[str, Any]) -> list[str]:
    """Problems worth showing next to a lock (hidden state, opaque nodes)."""
    out = []
    for item in hidden_state(lock):
        out.append(f"cell {item['cell']} (In [{item.get('execution_count') or '?'}]) reads "
                   f"{item['name']!r}, which no recorded cell defined: the lock is not replayable")
    opaque = [nid for nid, n in lock.get("nodes", {}).items() if n.get("opaque")]
    if opaque:
        out.append(f"{len(opaque)} node(s) hold values hashed by a fallback and cannot be verified: "
                   + ", ".join(opaque[:5]))
    return out


def environment_html(env: dict[str, Any]) -> str:
    """The environment section as a compact HTML table."""
    esc = html.escape
    py = env.get("python", {}) or {}
    plat = env.get("platform", {}) or {}
    cpu = env.get("cpu", {}) or {}
    pkgs = env.get("packages", {}) or {}
    rows = [("python", f"{py.get('implementation', '')} {py.get('version', '')}".strip()),
            ("platform", " ".join(str(plat.get(k, "")) for k in ("system", "release", "machine")).strip()),
            ("cpu", f"{cpu.get('model', '')} × {cpu.get('count', '')}"),
            ("memory", f"{(env.get('memory_bytes') or 0) / 2**30:.1f} GiB"),
            ("gpu", ", ".join(g.get("name", "") for g in env.get("gpu") or []) or "none"),
            ("threads", ", ".join(f"{t.get('internal_api')} {t.get('num_threads')}"
                                  for t in env.get("threads") or []) or "—"),
            ("packages", f"{len(pkgs)} installed; " + ", ".join(
                f"{p} {pkgs[p]}" for p in ("pandas", "numpy", "scikit-learn", "pyarrow") if p in pkgs)),
            ("dependency locks", ", ".join(env.get("dependency_locks", {}) or {}) or "none found"),
            ("variables", ", ".join(f"{k}={v}" for k, v in (env.get("variables") or {}).items()) or "—")]
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in rows)
    return f'{_STYLE}<div class="notelock-summary"><table>{body}</table></div>'
