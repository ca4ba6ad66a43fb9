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
"""

from __future__ import annotations

import pickle
import sys
import types
from typing import Any, Callable

from notelock.core.hashing.base import PREFIX, _new, blob, f64, i64, name_text, tag, text, u64

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
_T_ODICT = tag("odict")
_T_SET = tag("set")
_T_FROZENSET = tag("frozenset")
_T_SUB = tag("subclass")
_T_BACKREF = tag("backref")
_T_RANGE = tag("range")
_T_SLICE = tag("slice")
_T_ELLIPSIS = tag("Ellipsis")
_T_NOTIMPL = tag("NotImplemented")
_T_ENUM = tag("enum")
_T_DATETIME = tag("datetime")
_T_DATE = tag("date")
_T_TIME = tag("time")
_T_TIMEDELTA = tag("timedelta")
_T_TZ = tag("tz")
_T_DECIMAL = tag("decimal")
_T_FRACTION = tag("fraction")
_T_PATH = tag("path")
_T_MODULE = tag("module")
_T_GLOBAL = tag("global")
_T_CODEFN = tag("function-code")
_T_CODECLS = tag("class-code")
_T_METHOD = tag("method")
_T_BMETHOD = tag("builtin-method")
_T_PARTIAL = tag("partial")
_T_WRAPPER = tag("descriptor")
_T_DATACLASS = tag("dataclass")
_T_REDUCE = tag("reduce")
_T_ESTIMATOR = tag("estimator")
_T_PICKLE = tag("pickle")
_T_UNHASHABLE = tag("unhashable")
_T_CODE = tag("code")
_T_SELFCLASS = tag("own-class")

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


class Encoder:
    """Writes values into an xxh3-128 state; see the module docstring for the format.

    ``reasons`` collects why some part could only be hashed by a fallback
    (shared with child encoders), which makes the final result opaque.
    """

    __slots__ = ("h", "reasons", "_stack")

    def __init__(self, reasons: list[str] | None = None, stack: dict[int, int] | None = None) -> None:
        self.h = _new()
        self.reasons: list[str] = [] if reasons is None else reasons
        # id(container) -> nesting depth, for the containers being written right now
        self._stack: dict[int, int] = {} if stack is None else stack

    # -- stream helpers -------------------------------------------------------
    def write(self, data: Any) -> None:
        """Append raw bytes (or any contiguous buffer) to the stream."""
        self.h.update(data)

    def hexdigest(self) -> str:
        """The ``xxh3_128:<hex>`` digest of what was written."""
        return PREFIX + self.h.hexdigest()

    def child(self) -> Encoder:
        """A fresh stream sharing this one's cycle guard and opaque reasons."""
        return Encoder(self.reasons, self._stack)

    def sub(self, obj: Any) -> bytes:
        """The 16-byte digest of *obj* encoded on its own (for order-free containers)."""
        saved = self.h
        self.h = _new()
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
        fn = _HANDLERS.get(t) or _library_handler(t, obj)
        if fn is not None:
            try:
                fn(self, obj)
                return
            except RecursionError:
                raise
            except Exception:  # noqa: BLE001 - a library object we could not read: fall back
                if t in _EXACT:  # builtin encoders only fail on a broken object: let the top decide
                    raise
        _encode_other(self, obj)


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


def _enc_module(enc: Encoder, obj: types.ModuleType) -> None:
    enc.h.update(_T_MODULE + text(obj.__name__))


def _enc_code(enc: Encoder, code: types.CodeType) -> None:
    """A code object canonically: what it computes, not where it was written.

    Bytecode, constants (nested code objects recursively), names and argument
    layout; the file name, first line number and line table are left out so
    moving a function or reformatting it around does not count.
    """
    enc.h.update(
        _T_CODE
        + text(code.co_name)
        + u64(code.co_argcount)
        + u64(code.co_posonlyargcount)
        + u64(code.co_kwonlyargcount)
        + u64(code.co_flags)
        + blob(code.co_code)
    )
    for names in (code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars):
        enc.h.update(u64(len(names)) + b"".join(text(n) for n in names))
    enc.h.update(u64(len(code.co_consts)))
    for const in code.co_consts:
        enc.encode(const)


def _enc_function(enc: Encoder, fn: types.FunctionType) -> None:
    name = _global_name(fn)
    if name is not None:
        enc.h.update(_T_GLOBAL + text(name))
        return
    _enc_code_function(enc, fn)


def _enc_code_function(enc: Encoder, fn: Any) -> None:
    """A function defined in a notebook, a lambda or a closure: its code and bound values."""
    from notelock.core.hashing.source import function_code_hash

    if not enc.enter(fn):
        return
    try:
        digest = function_code_hash(fn)
        if digest is None:
            _enc_pickle(enc, fn)
            return
        enc.h.update(_T_CODEFN + text(getattr(fn, "__qualname__", "")) + text(digest))
        # Defaults and closure cells are values bound at definition time: they
        # change what the function computes without changing its source.
        enc.encode(getattr(fn, "__defaults__", None))
        enc.encode(getattr(fn, "__kwdefaults__", None))
        cells = getattr(fn, "__closure__", None) or ()
        enc.h.update(u64(len(cells)))
        for cell in cells:
            try:
                enc.encode(cell.cell_contents)
            except ValueError:  # an empty cell (variable not yet assigned)
                enc.h.update(_T_UNHASHABLE)
    finally:
        enc.leave(fn)


def _enc_builtin_function(enc: Encoder, fn: types.BuiltinFunctionType) -> None:
    owner = getattr(fn, "__self__", None)
    if owner is None or isinstance(owner, types.ModuleType):
        name = _global_name(fn)
        if name is None:
            module = getattr(fn, "__module__", None) or getattr(owner, "__name__", None) or "builtins"
            name = f"{module}.{getattr(fn, '__qualname__', fn.__name__)}"
        enc.h.update(_T_GLOBAL + text(name))
        return
    # A bound method of a builtin object (``[].append``): the object counts.
    enc.h.update(_T_BMETHOD + text(fn.__name__))
    enc.encode(owner)


def _enc_method(enc: Encoder, m: types.MethodType) -> None:
    enc.h.update(_T_METHOD)
    enc.encode(m.__func__)
    enc.encode(m.__self__)


def _enc_type(enc: Encoder, cls: type) -> None:
    cached = _GLOBAL_BYTES.get(cls)
    if cached is not None:
        enc.h.update(cached)
        return
    name = _global_name(cls)
    if name is not None:
        encoded = _T_GLOBAL + text(name)
        if _cacheable(cls):
            _GLOBAL_BYTES[cls] = encoded
        enc.h.update(encoded)
        return
    from notelock.core.hashing.source import function_code_hash

    digest = function_code_hash(cls)
    if digest is None:
        _enc_pickle(enc, cls)
        return
    enc.h.update(_T_CODECLS + text(cls.__qualname__) + text(digest))


_EXACT: dict[type, Callable[[Encoder, Any], None]] = {
    type(None): _enc_none,
    bool: _enc_bool,
    int: _enc_int,
    float: _enc_float,
    complex: _enc_complex,
    str: _enc_str,
    bytes: _enc_bytes,
    bytearray: _enc_bytearray,
    memoryview: _enc_memoryview,
    list: _enc_list,
    tuple: _enc_tuple,
    dict: _enc_dict,
    set: _enc_set,
    frozenset: _enc_frozenset,
    range: _enc_range,
    slice: _enc_slice,
    type(Ellipsis): _enc_ellipsis,
    type(NotImplemented): _enc_notimpl,
    types.ModuleType: _enc_module,
    types.CodeType: _enc_code,
    types.FunctionType: _enc_function,
    types.BuiltinFunctionType: _enc_builtin_function,
    types.MethodType: _enc_method,
    type: _enc_type,
}


# -- names ------------------------------------------------------------------------


def _global_name(obj: Any) -> str | None:
    """The public dotted name of a function/class importable from its module, else None.

    None for anything defined in ``__main__`` (a notebook), inside a function
    (``<locals>``), lambdas, and objects their module no longer exposes:
    those are hashed by their code instead of by name.
    """
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        return None
    if module == "__main__" or "<" in qualname:
        return None
    mod = sys.modules.get(module)
    if mod is None or _resolve(mod, qualname) is not obj:
        return None
    from notelock.core.hashing.estimators import public_name

    return public_name(obj)


def _resolve(mod: Any, qualname: str) -> Any:
    target = mod
    for part in qualname.split("."):
        target = getattr(target, part, None)
        if target is None:
            return None
    return target


def type_path(cls: type) -> str:
    """Dotted path of a class, for tags and messages (see ``estimator_path``)."""
    from notelock.core.hashing.estimators import estimator_path

    return estimator_path(cls)


# -- library types (numpy / pandas / pyarrow / sklearn) and the rest --------------


# Encodings of library classes by name, and class paths as framed text:
# library classes are never redefined, so these never go stale.
_GLOBAL_BYTES: dict[type, bytes] = {}
_TYPE_TEXT: dict[type, bytes] = {}


def _cacheable(t: type) -> bool:
    module = getattr(t, "__module__", None)
    return isinstance(module, str) and (module == "builtins" or module.split(".")[0] in _CACHEABLE)


def _type_text(t: type) -> bytes:
    """``text(type_path(t))``, cached for library classes."""
    cached = _TYPE_TEXT.get(t)
    if cached is None:
        cached = text(type_path(t))
        if _cacheable(t):
            _TYPE_TEXT[t] = cached
    return cached


# Handlers found for exact types of numpy, pandas, pyarrow and scikit-learn.
# Only types from those packages are kept: they are never redefined, unlike
# classes in a notebook, so the table stays small and never goes stale.
_HANDLERS: dict[type, Callable[[Encoder, Any], None]] = dict(_EXACT)
_CACHEABLE = frozenset({"numpy", "pandas", "pyarrow", "sklearn"})


def _enc_estimator(enc: Encoder, obj: Any) -> None:
    from notelock.core.hashing.estimators import estimator_digest

    enc.h.update(_T_ESTIMATOR + estimator_digest(obj, enc))


def _library_handler(t: type, obj: Any) -> Callable[[Encoder, Any], None] | None:
    """The handler for objects of the data stack (and estimators); None for anything else."""
    modules = sys.modules
    fn = None
    if "numpy" in modules:
        from notelock.core.hashing import arrays

        fn = arrays.handler(t)
    if fn is None and "pandas" in modules:
        from notelock.core.hashing import frames

        fn = frames.handler(t)
    if fn is None and "pyarrow" in modules:
        from notelock.core.hashing import arrow

        fn = arrow.handler(t)
    if fn is None:
        from notelock.core.hashing.estimators import is_estimator

        if is_estimator(obj):
            fn = _enc_estimator
    if str(getattr(t, "__module__", "")).split(".")[0] in _CACHEABLE:
        # A library type with no dedicated handler (e.g. sklearn's Cython Tree)
        # goes straight to the generic path next time.
        if fn is None:
            fn = _enc_by_reduce if _has_own_reduce(t) else _encode_other
        _HANDLERS[t] = fn
    return fn


def _enc_by_reduce(enc: Encoder, obj: Any) -> None:
    """Objects that describe their state through ``__reduce_ex__`` (Cython types & co)."""
    digest = _try_reduce(enc, obj)
    if digest is not None:
        enc.h.update(_T_REDUCE + digest)
    else:
        _enc_pickle(enc, obj)


def _encode_other(enc: Encoder, obj: Any) -> None:
    """Standard-library values, callables, subclasses of builtins, then fallbacks."""
    t = type(obj)
    modules = sys.modules
    enum = modules.get("enum")
    if enum is not None and isinstance(obj, enum.Enum):
        enc.h.update(_T_ENUM + text(type_path(t)) + text(obj.name))
        return
    dt = modules.get("datetime")
    if dt is not None and isinstance(obj, (dt.date, dt.time, dt.timedelta, dt.tzinfo)):
        _enc_datetime(enc, obj, dt)
        return
    dec = modules.get("decimal")
    if dec is not None and isinstance(obj, dec.Decimal):
        enc.h.update(_T_DECIMAL + text(str(obj)))
        return
    fractions = modules.get("fractions")
    if fractions is not None and isinstance(obj, fractions.Fraction):
        enc.h.update(_T_FRACTION)
        _enc_int(enc, obj.numerator)
        _enc_int(enc, obj.denominator)
        return
    pathlib = modules.get("pathlib")
    if pathlib is not None and isinstance(obj, pathlib.PurePath):
        enc.h.update(_T_PATH + text(t.__name__) + text(str(obj)))
        return
    functools = modules.get("functools")
    if functools is not None and isinstance(obj, functools.partial):
        enc.h.update(_T_PARTIAL)
        enc.encode(obj.func)
        enc.encode(obj.args)
        enc.encode(obj.keywords)
        return
    if isinstance(obj, type):  # metaclass instances (ABCMeta, EnumMeta, ...)
        _enc_type(enc, obj)
        return
    if isinstance(obj, (staticmethod, classmethod)):
        enc.h.update(_T_WRAPPER + text(t.__name__))
        enc.encode(obj.__func__)
        return
    if isinstance(obj, types.FunctionType):  # subclasses are rare but possible
        _enc_function(enc, obj)
        return
    base = _builtin_base(obj)
    if base is not None:
        # Named tuples, OrderedDict, Counter, str/int subclasses: the class
        # path, then the value as its builtin base type.
        enc.h.update(_T_SUB + text(type_path(t)))
        if base is dict:
            ordered = t.__name__ == "OrderedDict" and t.__module__ == "collections"
            _enc_dict_items(enc, obj, _T_ODICT if ordered else _T_DICT, ordered=ordered)
        elif base in (set, frozenset):
            _enc_set_items(enc, obj, _T_SET if base is set else _T_FROZENSET)
        elif base in (list, tuple):
            _enc_sequence(enc, obj, _T_LIST if base is list else _T_TUPLE)
        else:
            _EXACT[base](enc, base(obj))
        return
    dataclasses = modules.get("dataclasses")
    if dataclasses is not None and dataclasses.is_dataclass(obj):
        _enc_dataclass(enc, obj, dataclasses)
        return
    if _has_own_reduce(t):
        _enc_by_reduce(enc, obj)
        return
    _enc_pickle(enc, obj)


_BUILTIN_BASES = (bool, int, float, complex, str, bytes, bytearray, list, tuple, dict, set, frozenset)


def _builtin_base(obj: Any) -> type | None:
    for base in _BUILTIN_BASES:
        if isinstance(obj, base):
            return base
    return None


def _enc_tzinfo(enc: Encoder, tz: Any, dt: Any) -> None:
    if tz is None:
        enc.h.update(_T_NONE)
        return
    key = getattr(tz, "key", None)  # zoneinfo.ZoneInfo: the IANA name
    if isinstance(key, str):
        enc.h.update(_T_TZ + text("zoneinfo") + text(key))
    elif isinstance(tz, dt.timezone):
        enc.h.update(_T_TZ + text("offset") + text(str(tz.utcoffset(None))))
    else:  # pytz, dateutil, ...: their class and printed name
        enc.h.update(_T_TZ + text(type_path(type(tz))) + text(str(tz)))


def _enc_datetime(enc: Encoder, obj: Any, dt: Any) -> None:
    if isinstance(obj, dt.datetime):
        enc.h.update(_T_DATETIME + text(obj.replace(tzinfo=None).isoformat()) + bytes((obj.fold,)))
        _enc_tzinfo(enc, obj.tzinfo, dt)
    elif isinstance(obj, dt.date):
        enc.h.update(_T_DATE + text(obj.isoformat()))
    elif isinstance(obj, dt.time):
        enc.h.update(_T_TIME + text(obj.replace(tzinfo=None).isoformat()) + bytes((obj.fold,)))
        _enc_tzinfo(enc, obj.tzinfo, dt)
    elif isinstance(obj, dt.timedelta):
        enc.h.update(_T_TIMEDELTA + i64(obj.days) + i64(obj.seconds) + i64(obj.microseconds))
    else:
        _enc_tzinfo(enc, obj, dt)


def _enc_dataclass(enc: Encoder, obj: Any, dataclasses: Any) -> None:
    if not enc.enter(obj):
        return
    try:
        fields = dataclasses.fields(obj)
        enc.h.update(_T_DATACLASS + text(type_path(type(obj))) + u64(len(fields)))
        for f in fields:
            enc.h.update(text(f.name))
            enc.encode(getattr(obj, f.name, None))
    finally:
        enc.leave(obj)


_OWN_REDUCE: dict[type, bool] = {}


def _has_own_reduce(t: type) -> bool:
    """Whether a class defines how to pickle itself (``__reduce__`` & co), unlike plain objects.

    Such classes (Cython types like ``sklearn.tree._tree.Tree``, library
    value types) describe their full state through ``__reduce_ex__``, which
    can be hashed canonically; plain classes go to the pickle fallback.
    """
    known = _OWN_REDUCE.get(t)
    if known is None:
        known = any(
            name in vars(klass)
            for klass in t.__mro__
            if klass is not object
            for name in ("__reduce__", "__reduce_ex__", "__getstate__")
        )
        _OWN_REDUCE[t] = known
    return known


def _try_reduce(enc: Encoder, obj: Any) -> bytes | None:
    """Digest of class path + reduce callable + args + state (+ items), or None if it fails."""
    if not enc.enter(obj):
        return b"\x00" * 16  # already written above: the back reference stands in
    child = enc.child()
    try:
        rv = obj.__reduce_ex__(5)
        t = type(obj)
        h = child.h
        h.update(_type_text(t))
        if isinstance(rv, str):  # a module-level singleton, pickled by name
            h.update(text(rv))
            return h.digest()
        if not isinstance(rv, tuple) or len(rv) < 2:
            return None
        parts = list(rv) + [None] * (5 - len(rv))
        func, args, state, listitems, dictitems = parts[:5]
        h.update(u64(len(rv)))
        if func is t:  # the usual ``(cls, args, state)``: the class is already written
            h.update(_T_SELFCLASS)
        else:
            child.encode(func)
        child.encode(args)
        child.encode(state)
        child.encode(None if listitems is None else list(listitems))
        child.encode(None if dictitems is None else list(dictitems))
        return h.digest()
    except RecursionError:
        raise
    except Exception:  # noqa: BLE001 - reduce not usable: the caller falls back
        return None
    finally:
        enc.leave(obj)


def _enc_pickle(enc: Encoder, obj: Any) -> None:
    name = _safe_type_path(obj)
    try:
        data = pickle.dumps(obj, protocol=5)
    except RecursionError:
        raise
    except Exception as err:  # noqa: BLE001 - anything unpicklable: hash the type only
        enc.h.update(_T_UNHASHABLE + text(name))
        enc.opaque(f"unhashable {name}: {_short(err)}")
        return
    enc.h.update(_T_PICKLE + u64(len(data)))
    enc.h.update(data)
    enc.opaque(f"hashed by pickle: {name}")


def _safe_type_path(obj: Any) -> str:
    try:
        return type_path(type(obj))
    except Exception:  # noqa: BLE001 - a broken class still gets a name
        t = type(obj)
        return f"{getattr(t, '__module__', '?')}.{getattr(t, '__qualname__', t.__name__)}"


def _short(err: BaseException) -> str:
    msg = " ".join(str(err).split()) or type(err).__name__
    return msg if len(msg) <= 120 else msg[:117] + "..."


def pickle_fallback(obj: Any) -> tuple[str, str]:
    """Hash *obj* by its pickle bytes (or its type alone): (digest, reason). Never raises."""
    enc = Encoder()
    try:
        _enc_pickle(enc, obj)
    except RecursionError:
        enc = Encoder()
        name = _safe_type_path(obj)
        enc.h.update(_T_UNHASHABLE + text(name))
        enc.opaque(f"unhashable {name}: nested too deeply")
    return enc.hexdigest(), enc.reasons[0]
