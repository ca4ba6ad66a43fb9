"""Canonical JSON: the one serialisation used for lock files and identity hashing.

Sorted keys, UTF-8, 2-space indent, trailing newline for files; a compact form
for hashing. Floats are written with Python's shortest round-tripping repr;
non-finite floats (not valid JSON) become ``{"float": "nan"}`` and friends so a
lock file always parses with any JSON reader.
"""

from __future__ import annotations

import json
import math
from typing import Any


def to_plain(value: Any) -> Any:
    """Convert *value* into plain JSON data (dict/list/str/int/float/bool/None).

    numpy scalars and arrays of scalars become Python numbers/lists, tuples
    become lists, non-finite floats become tagged objects. Anything else is
    converted with ``str`` so serialisation never fails.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        return {"float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [to_plain(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item) and getattr(value, "shape", None) == ():
        return to_plain(item())
    tolist = getattr(value, "tolist", None)  # small numpy arrays
    if callable(tolist):
        try:
            return to_plain(tolist())
        except Exception:  # noqa: BLE001 - fall through to str
            pass
    return str(value)


def dumps(data: Any) -> str:
    """The canonical text of *data* as written to a lock file (ends with a newline)."""
    return json.dumps(to_plain(data), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def dumps_compact(data: Any) -> str:
    """The canonical compact text of *data*, used as input to identity hashes."""
    return json.dumps(
        to_plain(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _pretty(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)


#: mappings larger than this are serialised entry by entry
_BIG = 32


class IncrementalDumper:
    """Produces exactly :func:`dumps` output, re-serialising only what changed.

    The lock is rewritten after every locked cell while most of it (the
    environment, earlier cells and nodes) stays the same; the standard
    library's indenting encoder is pure Python, so serialising everything
    each time would cost milliseconds per cell. Text is cached per top-level
    section and, for the growing ``cells`` list and ``nodes`` mapping, per
    element, and reused when the value is equal to the one it was made from.
    Indenting a nested value's text by two spaces gives the text it has one
    level deeper, because JSON strings never contain raw newlines.
    """

    def __init__(self) -> None:
        # key -> (version or value it was made from, text indented for its place)
        self._memo: dict[tuple[str, Any], tuple[Any, str]] = {}
        #: the texts made anew by the last :meth:`dumps` (what changed since the one before)
        self.fresh: list[str] = []
        self._keys: dict[Any, str] = {}

    def _cached(self, key: tuple[str, Any], value: Any, indent: str, version: Any = None) -> str:
        hit = self._memo.get(key)
        if hit is not None and (hit[0] == version if version is not None else hit[0] == value):
            return hit[1]
        text = _pretty(to_plain(value)).replace("\n", "\n" + indent)
        self.fresh.append(text)
        self._memo[key] = (version if version is not None else value, text)
        return text

    def _key_text(self, key: Any) -> str:
        text = self._keys.get(key)
        if text is None:
            text = self._keys[key] = json.dumps(str(key), ensure_ascii=False) + ": "
        return text

    def _member(self, key: str, value: Any, versions: dict[tuple[str, Any], Any]) -> str:
        if key == "cells" and isinstance(value, list):
            if not value:
                return "[]"
            items = [self._cached(("cells", i), v, "    ", versions.get(("cells", i))) for i, v in enumerate(value)]
            return "[\n    " + ",\n    ".join(items) + "\n  ]"
        if key == "nodes" and isinstance(value, dict):
            if not value:
                return "{}"
            items = [self._key_text(k) + self._cached(("nodes", k), v, "    ", versions.get(("nodes", k)))
                     for k, v in sorted(value.items())]
            return "{\n    " + ",\n    ".join(items) + "\n  }"
        if isinstance(value, dict) and any(isinstance(v, dict) and len(v) > _BIG for v in value.values()):
            # a section holding a growing mapping (run.durations_s): its entries are cached one by one
            return self._dict_text((key,), value, "  ")
        return self._cached((key, None), value, "  ")

    def _dict_text(self, path: tuple[Any, ...], value: dict[str, Any], indent: str) -> str:
        if not value:
            return "{}"
        inner = indent + "  "
        items = []
        for k in sorted(value, key=str):
            v = value[k]
            if isinstance(v, dict) and len(v) > _BIG:
                text = self._dict_text((*path, k), v, inner)
            else:
                text = self._cached(("entry", (*path, str(k))), v, inner)
            items.append(inner + self._key_text(k) + text)
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"

    def dumps(self, data: dict[str, Any], versions: dict[tuple[str, Any], Any] | None = None) -> str:
        """The canonical text of the mapping *data* (ends with a newline).

        *versions* may name, for ``("cells", index)`` and ``("nodes", id)``, a
        version that changes whenever that element changes: elements whose
        version is unchanged are reused without comparing their values, so a
        write costs what changed, not the size of the lock."""
        self.fresh = []
        if not data:
            return "{}\n"
        parts = [json.dumps(str(k), ensure_ascii=False) + ": " + self._member(str(k), v, versions or {})
                 for k, v in sorted(data.items(), key=lambda kv: str(kv[0]))]
        return "{\n  " + ",\n  ".join(parts) + "\n}\n"
