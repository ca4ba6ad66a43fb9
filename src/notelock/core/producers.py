"""Which node produced a value: the object first, its content only after.

Edges of the graph come from here. A value is linked to the node whose call
returned *that very object* (recorded by identity, held through a weak
reference so nothing is kept alive and a recycled id is never mistaken for
the original); only a value whose object cannot be followed (rebuilt after it
crossed a cell boundary: restored from the cache, unpickled, an immutable
value) is linked by content. Content identifies a producer only when exactly
one node produced it: equal frames from a CSV file and a warehouse table
never cross-link, whichever was read first.
"""

from __future__ import annotations

import functools
import types
import weakref
from typing import Any

#: values too common to imply an edge when two nodes share them (``n = 5``)
_SMALL = (bool, int, float, complex, types.ModuleType, type(None))


def is_trivial(value: Any) -> bool:
    """Scalars, modules and short strings: equal by accident, never an edge."""
    if value is None or isinstance(value, _SMALL):
        return True
    return isinstance(value, (str, bytes)) and len(value) <= 256


class Producers:
    """Value → the node that produced it."""

    def __init__(self) -> None:
        self._by_object: dict[int, tuple[weakref.ref, str]] = {}
        self._by_content: dict[str, list[str]] = {}

    def add(self, value: Any, digest: str | None, node_id: str, *, replace: bool = True) -> None:
        """*node_id* produced *value* (hashing to *digest*). With ``replace=False``
        an earlier producer of the same object is kept."""
        if is_trivial(value):
            return
        if digest:
            found = self._by_content.setdefault(digest, [])
            if node_id not in found:
                found.append(node_id)
        key = id(value)
        held = self._by_object.get(key)
        if held is not None and held[0]() is value and not replace:
            return
        try:
            ref = weakref.ref(value, functools.partial(self._forget, key))
        except TypeError:  # lists, dicts, tuples: followed by content only
            return
        self._by_object[key] = (ref, node_id)

    def add_content(self, digest: str, node_id: str) -> None:
        """*node_id* produced a value hashing to *digest* (its object is not at hand)."""
        found = self._by_content.setdefault(digest, [])
        if node_id not in found:
            found.append(node_id)

    def _forget(self, key: int, ref: weakref.ref) -> None:
        held = self._by_object.get(key)
        if held is not None and held[0] is ref:
            del self._by_object[key]

    def of_object(self, value: Any) -> str | None:
        """The node that returned this very object, if one did."""
        held = self._by_object.get(id(value))
        if held is not None and held[0]() is value:
            return held[1]
        return None

    def find(self, value: Any, digest: str | None) -> str | None:
        """The producer of *value*: by object, else by content when unambiguous."""
        if is_trivial(value):
            return None
        found = self.of_object(value)
        if found is not None:
            return found
        if digest:
            candidates = self._by_content.get(digest) or []
            if len(candidates) == 1:
                return candidates[0]
        return None


__all__ = ["Producers", "is_trivial"]
