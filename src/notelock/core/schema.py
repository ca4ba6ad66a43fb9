"""Schema contracts: how a read's schema changed, column by column.

A read records its schema (column names, dtypes, null counts) and its row
count. :func:`compare` sets a recorded schema against a new one and returns
what changed as JSON data; :func:`message` turns that into the one line a
user sees at the read, before any downstream code runs::

    transactions.csv: schema changed: + merchant_risk_score (float64, 61% null); rows 100000 → 131072

Pure functions of JSON data: the recorder, the replay and the diff all use
them.
"""

from __future__ import annotations

from typing import Any


def _pct(nulls: int, rows: int | None) -> float | None:
    if not rows:
        return None
    return round(100.0 * nulls / rows, 1)


def _columns(schema: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((schema or {}).get("columns", []))


def compare(old: dict[str, Any] | None, old_rows: int | None,
            new: dict[str, Any] | None, new_rows: int | None) -> dict[str, Any]:
    """What changed from the schema *old* (with *old_rows* rows) to *new*.

    Returns ``{"changed": bool, "added": [...], "removed": [...],
    "dtype": [...], "nulls": [...], "order": bool, "rows": [a, b] | None}``:

    - ``added`` / ``removed``: ``{"name", "dtype", "nulls", "null_pct"}``;
    - ``dtype``: ``{"name", "from", "to"}``;
    - ``nulls``: nullability changes, ``{"name", "from", "to", "null_pct"}``,
      only when a column without nulls now has some or the reverse (a change
      in how many nulls a nullable column holds is a content change, not a
      contract change);
    - ``order``: the same columns in a different order;
    - ``rows``: ``[old_rows, new_rows]`` when they differ.

    ``changed`` is true when any column-level change is present; a row count
    alone is reported in ``rows`` but does not make the schema "changed".
    """
    a = {c["name"]: c for c in _columns(old)}
    b = {c["name"]: c for c in _columns(new)}
    added = [{"name": n, "dtype": c.get("dtype"), "nulls": c.get("nulls", 0),
              "null_pct": _pct(c.get("nulls", 0), new_rows)}
             for n, c in b.items() if n not in a]
    removed = [{"name": n, "dtype": c.get("dtype"), "nulls": c.get("nulls", 0),
                "null_pct": _pct(c.get("nulls", 0), old_rows)}
               for n, c in a.items() if n not in b]
    dtype = [{"name": n, "from": a[n].get("dtype"), "to": b[n].get("dtype")}
             for n in b if n in a and a[n].get("dtype") != b[n].get("dtype")]
    nulls = []
    for n in b:
        if n not in a:
            continue
        before, after = int(a[n].get("nulls", 0) or 0), int(b[n].get("nulls", 0) or 0)
        if (before == 0) != (after == 0):
            nulls.append({"name": n, "from": before, "to": after, "null_pct": _pct(after, new_rows)})
    common_a = [n for n in a if n in b]
    common_b = [n for n in b if n in a]
    order = common_a != common_b
    rows = [old_rows, new_rows] if old_rows != new_rows else None
    changed = bool(added or removed or dtype or nulls or order)
    return {"changed": changed, "added": added, "removed": removed, "dtype": dtype,
            "nulls": nulls, "order": order, "rows": rows}


def _null_text(pct: float | None, nulls: int) -> str:
    if pct is None:
        return f"{nulls} null" if nulls else "no nulls"
    if nulls == 0:
        return "no nulls"
    shown = f"{pct:.0f}" if pct >= 1 else f"{pct:g}"
    return f"{shown}% null"


def parts(change: dict[str, Any]) -> list[str]:
    """The changes as short phrases, columns first, rows last."""
    out = []
    for col in change.get("added", []):
        out.append(f"+ {col['name']} ({col['dtype']}, {_null_text(col.get('null_pct'), col.get('nulls', 0))})")
    for col in change.get("removed", []):
        out.append(f"- {col['name']} ({col['dtype']})")
    for col in change.get("dtype", []):
        out.append(f"~ {col['name']}: {col['from']} → {col['to']}")
    for col in change.get("nulls", []):
        if col["to"]:
            out.append(f"~ {col['name']}: now has nulls ({_null_text(col.get('null_pct'), col['to'])})")
        else:
            out.append(f"~ {col['name']}: no longer has nulls")
    if change.get("order") and not out:
        out.append("columns reordered")
    rows = change.get("rows")
    if rows:
        out.append(f"rows {_count(rows[0])} → {_count(rows[1])}")
    return out


def _count(n: Any) -> str:
    return "?" if n is None else str(n)


def message(label: str, change: dict[str, Any]) -> str:
    """One line for a user: ``<source>: schema changed: <changes>``.

    When only the row count (or only the content) changed the line says
    ``content changed`` instead, so "schema changed" always means a
    column-level change.
    """
    kind = "schema changed" if change.get("changed") else "content changed"
    detail = "; ".join(parts(change))
    return f"{label}: {kind}" + (f": {detail}" if detail else "")


def source_label(node: dict[str, Any]) -> str:
    """How a read names its source in messages: the path, URL or query."""
    for key in ("path", "url"):
        if node.get(key):
            return str(node[key])
    query = node.get("query")
    if query:
        flat = " ".join(str(query).split())
        return f"query {flat[:60] + ('…' if len(flat) > 60 else '')!r}"
    return str(node.get("buffer") or node.get("reader") or "read")


def source_key(node: dict[str, Any]) -> str | None:
    """What identifies "the same source" across reads: path/URL, or connection + query."""
    for key in ("path", "url"):
        if node.get(key):
            return f"{key}:{node[key]}"
    if node.get("query") is not None:
        return f"sql:{node.get('connection', '')}:{node['query']}"
    return None


__all__ = ["compare", "message", "parts", "source_label", "source_key"]
