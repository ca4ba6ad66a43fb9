"""The value encoder behind ``hash_value``: a typed, length-prefixed byte stream.

Every value is written as a type tag (see :func:`base.tag`), then lengths and
counts, then its payload, into one xxh3-128 state. Because each encoding is
self-delimiting, a concatenation can never be read two ways: ``["a-b", "c"]``
and ``["a", "b-c"]`` differ, ``[1, "1"]`` and ``["1", 1]`` differ, and ``1``,
``1.0`` and ``True`` differ (their tags differ).

Choices worth knowing:

* tuples and lists have different tags, so ``(1, 2)`` and ``[1, 2]`` differ
  (they never compare equal in Python either); subclasses of builtin
  containers (named tuples, ``OrderedDict``, ``Counter``) add their class path.
* dict items and set elements are ordered by the digest of their own key or
  element, so insertion order does not count, as it does not for equality;
  ``OrderedDict`` keeps its order, since its equality does too.
* a container that contains itself is written as a back reference to the
  enclosing level instead of recursing.
* numpy, pandas, pyarrow and scikit-learn objects are only recognised when
  their package is already in ``sys.modules``: an object cannot be a
  DataFrame unless pandas was imported, so no check ever imports one.
* anything without a canonical encoding falls back to its pickle bytes and
  the result is flagged *opaque*; if pickling fails too, only the type path
  is hashed (also opaque). Encoding never raises.

Handlers live in one registry, :data:`handlers` (a :class:`Dispatch`), which
imports nobody: each handler module registers itself when it is imported
(``notelock.core.hashing.api`` imports them all), and the handlers for a
library's types are registered by a loader that runs only once that library
is in ``sys.modules`` (``@handlers.register_lazy("pandas")``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from notelock.core.hashing.base import PREFIX, blob, f64, i64, name_text, new_hasher, tag, text, u64
from notelock.core.hashing.names import cacheable

Handler = Callable[["Encoder", Any], None]

_T_NONE = tag("None")
_T_TRUE = tag("bool") + b"\x01"
_T_FALSE = tag("bool") + b"\x00"
_T_INT = tag("int")
_T_BIGINT = tag("bigint")
_T_FLOAT = tag("float")
_T_COMPLEX = tag("complex")
_T_STR = tag("str")
_T_BYTES = tag("bytes")
_T_BYTEARRAY = tag("bytearray")
_T_MEMORYVIEW = tag("memoryview")
_T_LIST = tag("list")
_T_TUPLE = tag("tuple")
_T_DICT = tag("dict")
_T_STRDICT = tag("dict-str")
_T_SET = tag("set")
_T_FROZENSET = tag("frozenset")
_T_BACKREF = tag("backref")
_T_RANGE = tag("range")
_T_SLICE = tag("slice")
_T_ELLIPSIS = tag("Ellipsis")
_T_NOTIMPL = tag("NotImplemented")
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


class TooLarge(Exception):
    """An object graph too big to hash structurally (see :class:`Shared`)."""


class Shared:
    """State shared by one top-level hash and all its child encoders.

    ``digests`` memoises the digest of every object hashed through its
    ``__reduce__`` form by identity (keeping the object alive so its id cannot
    be reused meanwhile): an object graph where many paths lead to the same
    objects is then hashed in time linear in its size, not in the number of
    paths, and the result does not depend on how objects are shared.
    ``budget`` bounds how many such objects one hash may visit; past it the
    value is hashed by its type alone and flagged opaque, so an arbitrary
    object reaching half the interpreter (a figure, a session) never stalls a cell.
    """

    __slots__ = ("digests", "budget")

    LIMIT = 20_000

    def __init__(self) -> None:
        self.digests: dict[int, tuple[Any, bytes]] = {}
        self.budget = self.LIMIT

    def spend(self) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise TooLarge()


class Encoder:
    """Writes values into an xxh3-128 state; see the module docstring for the format.

    ``reasons`` collects why some part could only be hashed by a fallback
    (shared with child encoders), which makes the final result opaque.
    """

    __slots__ = ("h", "reasons", "_stack", "shared")

    def __init__(self, reasons: list[str] | None = None, stack: dict[int, int] | None = None,
                 shared: Shared | None = None) -> None:
        self.h = new_hasher()
        self.reasons: list[str] = [] if reasons is None else reasons
        # id(container) -> nesting depth, for the containers being written right now
        self._stack: dict[int, int] = {} if stack is None else stack
        self.shared = Shared() if shared is None else shared

    # -- stream helpers -------------------------------------------------------
    def write(self, data: Any) -> None:
        """Append raw bytes (or any contiguous buffer) to the stream."""
        self.h.update(data)

    def hexdigest(self) -> str:
        """The ``xxh3_128:<hex>`` digest of what was written."""
        return PREFIX + self.h.hexdigest()

    def child(self) -> Encoder:
        """A fresh stream sharing this one's cycle guard and opaque reasons."""
        return Encoder(self.reasons, self._stack, self.shared)

    def sub(self, obj: Any) -> bytes:
        """The 16-byte digest of *obj* encoded on its own (for order-free containers)."""
        saved = self.h
        self.h = new_hasher()
        try:
            self.encode(obj)
            return self.h.digest()
        finally:
            self.h = saved

    def enter(self, obj: Any) -> bool:
        """Start writing a container; False (and a back reference written) if it is already open."""
        key = id(obj)
        depth = self._stack.get(key)
        if depth is not None:
            self.h.update(_T_BACKREF + u64(len(self._stack) - depth))
            return False
        self._stack[key] = len(self._stack)
        return True

    def leave(self, obj: Any) -> None:
        """Finish writing a container opened with :meth:`enter`."""
        self._stack.pop(id(obj), None)

    def opaque(self, reason: str) -> None:
        """Record that part of the value was hashed by a fallback."""
        if reason not in self.reasons:
            self.reasons.append(reason)

    # -- dispatch ---------------------------------------------------------------
    def encode(self, obj: Any) -> None:
        """Write *obj*; never raises (unknown values go to the pickle fallback)."""
        t = type(obj)
        fn = handlers.lookup(t, obj)
        if fn is not None:
            try:
                fn(self, obj)
                return
            except (RecursionError, TooLarge):
                raise
            except Exception:  # noqa: BLE001 - a library object we could not read: fall back
                if t in handlers.exact:  # builtin encoders only fail on a broken object: let the top decide
                    raise
        handlers.fallback(self, obj)


# -- builtins -------------------------------------------------------------------


def _enc_none(enc: Encoder, obj: Any) -> None:
    enc.h.update(_T_NONE)


def _enc_bool(enc: Encoder, obj: bool) -> None:
    enc.h.update(_T_TRUE if obj else _T_FALSE)


def _enc_int(enc: Encoder, obj: int) -> None:
    if _INT64_MIN <= obj <= _INT64_MAX:
        enc.h.update(_T_INT + i64(obj))
    else:
        n = (obj.bit_length() + 8) // 8  # +1 bit for the sign
        enc.h.update(_T_BIGINT + blob(int(obj).to_bytes(n, "little", signed=True)))


def _enc_float(enc: Encoder, obj: float) -> None:
    enc.h.update(_T_FLOAT + f64(obj))


def _enc_complex(enc: Encoder, obj: complex) -> None:
    enc.h.update(_T_COMPLEX + f64(obj.real) + f64(obj.imag))


def _enc_str(enc: Encoder, obj: str) -> None:
    enc.h.update(_T_STR + text(obj))


def _enc_bytes(enc: Encoder, obj: bytes) -> None:
    enc.h.update(_T_BYTES + u64(len(obj)))
    enc.h.update(obj)


def _enc_bytearray(enc: Encoder, obj: bytearray) -> None:
    enc.h.update(_T_BYTEARRAY + u64(len(obj)))
    enc.h.update(obj)


def _enc_memoryview(enc: Encoder, obj: memoryview) -> None:
    data = obj.tobytes()
    enc.h.update(_T_MEMORYVIEW + text(obj.format) + u64(obj.ndim) + b"".join(u64(s) for s in obj.shape or ()))
    enc.h.update(u64(len(data)) + data)


def _enc_sequence(enc: Encoder, obj: Any, t: bytes) -> None:
    if not enc.enter(obj):
        return
    try:
        enc.h.update(t + u64(len(obj)))
        encode = enc.encode
        for item in obj:
            encode(item)
    finally:
        enc.leave(obj)


def _enc_list(enc: Encoder, obj: list) -> None:
    _enc_sequence(enc, obj, _T_LIST)


def _enc_tuple(enc: Encoder, obj: tuple) -> None:
    _enc_sequence(enc, obj, _T_TUPLE)


def _enc_dict_items(enc: Encoder, obj: Any, t: bytes, ordered: bool = False) -> None:
    if not enc.enter(obj):
        return
    try:
        sub = enc.sub
        if ordered:
            items = [(sub(k), v) for k, v in obj.items()]
        elif t is _T_DICT and all(type(k) is str for k in obj):
            # Only exact str keys: their own order is canonical, no digests needed.
            keys = sorted(obj)
            update, encode = enc.h.update, enc.encode
            update(_T_STRDICT + u64(len(keys)))
            for k in keys:
                update(name_text(k))
                encode(obj[k])
            return
        else:
            # Keys ordered by their own digest: insertion order does not count.
            items = [(sub(k), v) for k, v in obj.items()]
            items.sort(key=_first)
        enc.h.update(t + u64(len(items)))
        for kd, v in items:
            enc.h.update(kd)
            enc.encode(v)
    finally:
        enc.leave(obj)


def _first(pair: tuple) -> Any:
    return pair[0]


def _enc_dict(enc: Encoder, obj: dict) -> None:
    _enc_dict_items(enc, obj, _T_DICT)


def _enc_set_items(enc: Encoder, obj: Any, t: bytes) -> None:
    if not enc.enter(obj):
        return
    try:
        digests = sorted(enc.sub(x) for x in obj)
        enc.h.update(t + u64(len(digests)) + b"".join(digests))
    finally:
        enc.leave(obj)


def _enc_set(enc: Encoder, obj: set) -> None:
    _enc_set_items(enc, obj, _T_SET)


def _enc_frozenset(enc: Encoder, obj: frozenset) -> None:
    _enc_set_items(enc, obj, _T_FROZENSET)


def _range_triple(n: int, start: int, step: int) -> tuple[int, int, int]:
    """(length, first, step) with the parts that do not change the values zeroed.

    ``range(0, 10, 3)`` and ``range(0, 11, 3)`` hold the same values, and every
    empty range is the same empty sequence; equality agrees, so the hash does.
    """
    if n == 0:
        return 0, 0, 0
    if n == 1:
        return 1, start, 0
    return n, start, step


def _enc_range(enc: Encoder, obj: range) -> None:
    n, start, step = _range_triple(len(obj), obj.start, obj.step)
    enc.h.update(_T_RANGE)
    for part in (n, start, step):
        _enc_int(enc, part)


def _enc_slice(enc: Encoder, obj: slice) -> None:
    enc.h.update(_T_SLICE)
    enc.encode(obj.start)
    enc.encode(obj.stop)
    enc.encode(obj.step)


def _enc_ellipsis(enc: Encoder, obj: Any) -> None:
    enc.h.update(_T_ELLIPSIS)


def _enc_notimpl(enc: Encoder, obj: Any) -> None:
    enc.h.update(_T_NOTIMPL)


class Dispatch:
    """Which function writes values of which type.

    * ``exact``: handlers for exactly one type (builtins, functions, modules):
      a subclass of ``dict`` is *not* written as a ``dict`` (its class counts);
    * ``classes``: handlers for a class and all its subclasses (library types:
      a ``DataFrame`` subclass is still a frame), found along the MRO;
    * ``predicates``: duck-typed kinds (scikit-learn-style estimators), asked
      after the classes;
    * ``lazy``: loaders that register a library's handlers, run once the
      library has been imported by someone else (nothing here imports it);
    * ``fallback``: what writes everything else (standard-library values,
      ``__reduce__``, pickle), set by :mod:`notelock.core.hashing.objects`.

    Resolved handlers are cached per type for builtins and library types,
    which are never redefined at run time (unlike classes in a notebook).
    """

    def __init__(self) -> None:
        self.exact: dict[type, Handler] = {}
        self.classes: dict[type, Handler] = {}
        self.predicates: list[tuple[Callable[[Any], bool], Handler]] = []
        self.lazy: dict[str, list[Callable[[], None]]] = {}
        self.fallback: Handler = _no_fallback
        #: handler for library types that have none of their own (``__reduce__`` or fallback)
        self.library_default: Callable[[type], Handler] | None = None
        self._cache: dict[type, Handler] = {}

    def register(self, *types: type, subclasses: bool = False) -> Callable[[Handler], Handler]:
        """Decorator: *fn* writes values of *types* (and their subclasses if asked)."""
        def decorate(fn: Handler) -> Handler:
            for t in types:
                (self.classes if subclasses else self.exact)[t] = fn
                self._cache.clear()
            return fn
        return decorate

    def register_lazy(self, package: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
        """Decorator: run *loader* (which registers handlers) once *package* is imported."""
        def decorate(loader: Callable[[], None]) -> Callable[[], None]:
            self.lazy.setdefault(package, []).append(loader)
            return loader
        return decorate

    def register_predicate(self, predicate: Callable[[Any], bool]) -> Callable[[Handler], Handler]:
        """Decorator: *fn* writes values for which ``predicate(value)`` is true."""
        def decorate(fn: Handler) -> Handler:
            self.predicates.append((predicate, fn))
            self._cache.clear()
            return fn
        return decorate

    def _load_ready(self) -> None:
        modules = sys.modules
        for package in [p for p in self.lazy if p in modules]:
            for loader in self.lazy.pop(package):
                loader()
            self._cache.clear()

    def lookup(self, t: type, obj: Any) -> Handler | None:
        """The handler for *obj* of type *t*, or None for the fallback."""
        fn = self._cache.get(t)
        if fn is not None:
            return fn
        fn = self.exact.get(t)
        if fn is not None:
            self._cache[t] = fn
            return fn
        if self.lazy:
            self._load_ready()
        classes = self.classes
        for klass in t.__mro__:
            fn = classes.get(klass)
            if fn is not None:
                break
        if fn is None:
            for predicate, handler in self.predicates:
                if predicate(obj):
                    fn = handler
                    break
        if cacheable(t) and t.__module__ != "builtins":
            # a library type with no dedicated handler (e.g. sklearn's Cython
            # Tree) goes straight to the generic path next time
            if fn is None and self.library_default is not None:
                fn = self.library_default(t)
            if fn is not None:
                self._cache[t] = fn
        return fn


def _no_fallback(enc: Encoder, obj: Any) -> None:
    raise TypeError(f"no fallback encoder registered (import notelock.core.hashing): {type(obj)!r}")


#: the registry every encoder dispatches through
handlers = Dispatch()
handlers.register(type(None))(_enc_none)
handlers.register(bool)(_enc_bool)
handlers.register(int)(_enc_int)
handlers.register(float)(_enc_float)
handlers.register(complex)(_enc_complex)
handlers.register(str)(_enc_str)
handlers.register(bytes)(_enc_bytes)
handlers.register(bytearray)(_enc_bytearray)
handlers.register(memoryview)(_enc_memoryview)
handlers.register(list)(_enc_list)
handlers.register(tuple)(_enc_tuple)
handlers.register(dict)(_enc_dict)
handlers.register(set)(_enc_set)
handlers.register(frozenset)(_enc_frozenset)
handlers.register(range)(_enc_range)
handlers.register(slice)(_enc_slice)
handlers.register(type(Ellipsis))(_enc_ellipsis)
handlers.register(type(NotImplemented))(_enc_notimpl)

# the building blocks other handler modules use
T_NONE, T_LIST, T_TUPLE, T_DICT, T_SET, T_FROZENSET = _T_NONE, _T_LIST, _T_TUPLE, _T_DICT, _T_SET, _T_FROZENSET
encode_int = _enc_int
encode_sequence = _enc_sequence
encode_mapping = _enc_dict_items
encode_set = _enc_set_items
range_triple = _range_triple
