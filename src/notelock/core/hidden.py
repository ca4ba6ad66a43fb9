"""Hidden state: names a recorded cell read that no recorded cell defined.

A lock can only be replayed from its own cells if every name those cells
read was bound by an earlier recorded cell, imported before notelock was
loaded (replay re-imports those), or provided by the kernel. Anything else
(a variable defined before ``%load_ext notelock``, in a deleted cell, or by a
cell executed later than the one reading it) is hidden state, named here.
"""

from __future__ import annotations

import builtins
from typing import Any

_BUILTINS = frozenset(dir(builtins))


def hidden_state(lock: dict[str, Any]) -> list[dict[str, Any]]:
    """Every (cell, name) where a cell read a name nothing recorded defined.

    Returns dicts ``{"cell": index, "execution_count": n, "name": name}`` in
    execution order. Cells that raised are skipped (replay expects them to
    raise again). A name a cell both reads and binds counts as defined by the
    cell itself when nothing earlier defined it (``x = 1; print(x)``).
    """
    session = lock.get("session", {}) or {}
    defined = set(_BUILTINS) | set(session.get("imports", {})) | set(session.get("provided", []))
    found: list[dict[str, Any]] = []
    reported: set[str] = set()
    for index, cell in enumerate(lock.get("cells", [])):
        writes = set(cell.get("writes", []))
        if not cell.get("error"):
            for name in cell.get("reads", []):
                if name in defined or name in writes or name in reported:
                    continue
                reported.add(name)
                found.append({"cell": index, "execution_count": cell.get("execution_count"), "name": name})
        defined |= writes
    return found


def describe(items: list[dict[str, Any]]) -> str:
    """One line naming the hidden variables and the cells that read them."""
    parts = [f"{it['name']!r} (read by cell {it['cell']}, In [{it.get('execution_count') or '?'}])"
             for it in items[:5]]
    more = f" and {len(items) - 5} more" if len(items) > 5 else ""
    return ("hidden state: " + ", ".join(parts) + more +
            " — defined outside the recorded cells (before notelock was loaded, in a deleted cell,"
            " or out of order)")
