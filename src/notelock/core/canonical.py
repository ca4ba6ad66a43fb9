"""Canonical JSON: the one serialisation used for lock files and identity hashing.

Sorted keys, UTF-8, 2-space indent, trailing newline for files; a compact form
for hashing. Floats are written with Python's shortest round-tripping repr;
non-finite floats (not valid JSON) become ``{"float": "nan"}`` and friends so a
lock file always parses with any JSON reader.
"""

from __future__ import annotations

import bisect
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


class _Entries:
    """The texts of one growing container's entries, in the order written
    (a list's by index, a mapping's by key), as UTF-8 bytes."""

    __slots__ = ("keys", "blobs")

    def __init__(self) -> None:
        self.keys: list[Any] = []
        self.blobs: list[bytes] = []

    def put(self, key: Any, blob: bytes) -> None:
        i = bisect.bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            self.blobs[i] = blob
        else:
            self.keys.insert(i, key)
            self.blobs.insert(i, blob)


def _joined(opening: bytes, blobs: list[bytes], separator: bytes, closing: bytes) -> list[bytes]:
    """The pieces of ``opening + separator.join(blobs) + closing``, without joining."""
    if not blobs:
        return [opening, closing]
    pieces = [separator] * (2 * len(blobs) + 1)
    pieces[1::2] = blobs
    pieces[0] = opening
    pieces[-1] = closing
    return pieces


class IncrementalDumper:
    """Produces exactly :func:`dumps` output, re-serialising only what changed.

    The lock is rewritten after every locked cell while most of it (the
    environment, earlier cells and nodes) stays the same; the standard
    library's indenting encoder is pure Python, so serialising everything
    each time would cost milliseconds per cell, and walking every element
    each time would make a write cost grow with the session. Top-level
    sections are cached by value; the growing containers (the ``cells``
    list, the ``nodes`` mapping, ``run.durations_s``) keep one text per
    element, and the caller says which elements changed since the last
    :meth:`chunks` (``changed``), so only those are made again and the rest
    is reused as it is. Without ``changed`` every element is made again.
    Indenting a nested value's text by two spaces gives the text it has one
    level deeper, because JSON strings never contain raw newlines.

    :meth:`chunks` gives the text as a list of UTF-8 pieces that are never
    joined into one string: a lock of thousands of cells is megabytes, and
    building (and encoding) it whole after every cell would make each
    write cost more than all the serialising.
    """

    #: the containers kept element by element: path -> indent of an element
    TRACKED: dict[tuple[str, ...], str] = {("cells",): "    ", ("nodes",): "    ", ("run", "durations_s"): "      "}

    def __init__(self) -> None:
        # key -> (value it was made from, text indented for its place)
        self._memo: dict[tuple[str, Any], tuple[Any, bytes]] = {}
        #: the texts made anew by the last :meth:`chunks` (what changed since the one before)
        self.fresh: list[str] = []
        self._keys: dict[Any, str] = {}
        self._entries: dict[tuple[str, ...], _Entries] = {}
        self._changed: dict[tuple[str, ...], set[Any]] | None = None

    def _cached(self, key: tuple[str, Any], value: Any, indent: str) -> bytes:
        hit = self._memo.get(key)
        if hit is not None and hit[0] == value:
            return hit[1]
        blob = self._text(value, indent).encode("utf-8")
        self._memo[key] = (value, blob)
        return blob

    def _text(self, value: Any, indent: str) -> str:
        text = _pretty(to_plain(value)).replace("\n", "\n" + indent)
        self.fresh.append(text)
        return text

    def _key_text(self, key: Any) -> str:
        text = self._keys.get(key)
        if text is None:
            text = self._keys[key] = json.dumps(str(key), ensure_ascii=False) + ": "
        return text

    def _element_blobs(self, path: tuple[str, ...], value: list[Any] | dict[str, Any]) -> list[bytes]:
        """The texts of *value*'s elements in written order, with their keys
        for a mapping; made again only for the elements that changed."""
        indent = self.TRACKED[path]
        keyed = isinstance(value, dict)

        def make(key: Any) -> bytes:
            text = self._text(value[key], indent)
            return (self._key_text(key) + text if keyed else text).encode("utf-8")

        changed = None if self._changed is None else self._changed.get(path)
        held = self._entries.get(path)
        if changed is not None and held is not None and all(
                (k in value) if keyed else (0 <= k < len(value)) for k in changed):
            for key in changed:
                held.put(key, make(key))
            if len(held.keys) == len(value):
                return held.blobs
        held = self._entries[path] = _Entries()
        held.keys = sorted(value, key=str) if keyed else list(range(len(value)))
        held.blobs = [make(k) for k in held.keys]
        return held.blobs

    def _member(self, key: str, value: Any) -> list[bytes]:
        if key == "cells" and isinstance(value, list):
            if not value:
                return [b"[]"]
            return _joined(b"[\n    ", self._element_blobs(("cells",), value), b",\n    ", b"\n  ]")
        if key == "nodes" and isinstance(value, dict):
            if not value:
                return [b"{}"]
            return _joined(b"{\n    ", self._element_blobs(("nodes",), value), b",\n    ", b"\n  }")
        if isinstance(value, dict) and any(isinstance(v, dict) and len(v) > _BIG for v in value.values()):
            # a section holding a growing mapping (run.durations_s): its entries are kept one by one
            return self._dict_pieces((key,), value, "  ")
        return [self._cached((key, None), value, "  ")]

    def _dict_pieces(self, path: tuple[str, ...], value: dict[str, Any], indent: str) -> list[bytes]:
        if not value:
            return [b"{}"]
        inner = indent + "  "
        opening, separator, closing = ("{\n" + inner).encode(), (",\n" + inner).encode(), ("\n" + indent + "}").encode()
        if path in self.TRACKED:
            return _joined(opening, self._element_blobs(path, value), separator, closing)
        pieces = [opening]
        for n, k in enumerate(sorted(value, key=str)):
            if n:
                pieces.append(separator)
            pieces.append(self._key_text(k).encode("utf-8"))
            v = value[k]
            if isinstance(v, dict) and len(v) > _BIG:
                pieces.extend(self._dict_pieces((*path, str(k)), v, inner))
            else:
                pieces.append(self._cached(("entry", (*path, str(k))), v, inner))
        pieces.append(closing)
        return pieces

    def chunks(self, data: dict[str, Any], changed: dict[tuple[str, ...], set[Any]] | None = None) -> list[bytes]:
        """The canonical text of the mapping *data* (ends with a newline), as
        UTF-8 pieces to be written one after the other.

        *changed* names, for each tracked container (``("cells",)``,
        ``("nodes",)``, ``("run", "durations_s")``), the indexes or keys of the
        elements added or changed since the previous call; the others are
        reused as they were. Without it, every element is made again."""
        self.fresh = []
        self._changed = changed
        try:
            if not data:
                return [b"{}\n"]
            pieces = [b"{\n  "]
            for n, (k, v) in enumerate(sorted(data.items(), key=lambda kv: str(kv[0]))):
                if n:
                    pieces.append(b",\n  ")
                pieces.append((json.dumps(str(k), ensure_ascii=False) + ": ").encode("utf-8"))
                pieces.extend(self._member(str(k), v))
            pieces.append(b"\n}\n")
            return pieces
        except BaseException:
            self._entries.clear()  # never reuse texts of a call that did not finish
            raise
        finally:
            self._changed = None

    def dumps(self, data: dict[str, Any], changed: dict[tuple[str, ...], set[Any]] | None = None) -> str:
        """:meth:`chunks` as one string."""
        return b"".join(self.chunks(data, changed)).decode("utf-8")
