"""Values without a dedicated handler: standard-library types, subclasses of
builtins, dataclasses, objects with their own ``__reduce__``, and the pickle
fallback (which makes a hash opaque).
"""

from __future__ import annotations

import pickle
import sys
import types
from typing import Any

from notelock.core.hashing.base import hash_bytes, i64, tag, text, u64
from notelock.core.hashing.encoder import (
    T_DICT,
    T_FROZENSET,
    T_LIST,
    T_NONE,
    T_SET,
    T_TUPLE,
    Encoder,
    TooLarge,
    encode_int,
    encode_mapping,
    encode_sequence,
    encode_set,
    handlers,
)
from notelock.core.hashing.names import is_library_file, type_path, type_text

_T_ODICT = tag("odict")
_T_SUB = tag("subclass")
_T_ENUM = tag("enum")
_T_DATETIME = tag("datetime")
_T_DATE = tag("date")
_T_TIME = tag("time")
_T_TIMEDELTA = tag("timedelta")
_T_TZ = tag("tz")
_T_DECIMAL = tag("decimal")
_T_FRACTION = tag("fraction")
_T_PATH = tag("path")
_T_PARTIAL = tag("partial")
_T_WRAPPER = tag("descriptor")
_T_DATACLASS = tag("dataclass")
_T_REDUCE = tag("reduce")
_T_PICKLE = tag("pickle")
_T_UNHASHABLE = tag("unhashable")
_T_SELFCLASS = tag("own-class")
_T_OBJECT = tag("object-state")
_T_TYPE_ONLY = tag("type-only")


def encode_by_reduce(enc: Encoder, obj: Any) -> None:
    """Objects that describe their state through ``__reduce_ex__`` (Cython types & co)."""
    digest = _try_reduce(enc, obj)
    if digest is not None:
        enc.h.update(_T_REDUCE + digest)
    else:
        encode_pickle(enc, obj)


def encode_other(enc: Encoder, obj: Any) -> None:
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
        encode_int(enc, obj.numerator)
        encode_int(enc, obj.denominator)
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
        handlers.exact[type](enc, obj)
        return
    if isinstance(obj, (staticmethod, classmethod)):
        enc.h.update(_T_WRAPPER + text(t.__name__))
        enc.encode(obj.__func__)
        return
    if isinstance(obj, types.FunctionType):  # subclasses are rare but possible
        handlers.exact[types.FunctionType](enc, obj)
        return
    base = _builtin_base(obj)
    if base is not None:
        # Named tuples, OrderedDict, Counter, str/int subclasses: the class
        # path, then the value as its builtin base type.
        enc.h.update(_T_SUB + text(type_path(t)))
        if base is dict:
            ordered = t.__name__ == "OrderedDict" and t.__module__ == "collections"
            encode_mapping(enc, obj, _T_ODICT if ordered else T_DICT, ordered=ordered)
        elif base in (set, frozenset):
            encode_set(enc, obj, T_SET if base is set else T_FROZENSET)
        elif base in (list, tuple):
            encode_sequence(enc, obj, T_LIST if base is list else T_TUPLE)
        else:
            handlers.exact[base](enc, base(obj))
        return
    dataclasses = modules.get("dataclasses")
    if dataclasses is not None and dataclasses.is_dataclass(obj):
        _enc_dataclass(enc, obj, dataclasses)
        return
    if has_own_reduce(t):
        if runs_user_code(t):
            # its own __reduce__/__getstate__ is notebook code: calling it could
            # change the object (or anything else); its type stands in
            _encode_type_only(enc, obj, "defines its own pickling in notebook code (not run to hash it)")
        else:
            encode_by_reduce(enc, obj)
        return
    if not _encode_state(enc, obj):
        encode_pickle(enc, obj)


_BUILTIN_BASES = (bool, int, float, complex, str, bytes, bytearray, list, tuple, dict, set, frozenset)


def _builtin_base(obj: Any) -> type | None:
    for base in _BUILTIN_BASES:
        if isinstance(obj, base):
            return base
    return None


def _enc_tzinfo(enc: Encoder, tz: Any, dt: Any) -> None:
    if tz is None:
        enc.h.update(T_NONE)
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


def has_own_reduce(t: type) -> bool:
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
    shared = enc.shared
    known = shared.digests.get(id(obj))
    if known is not None and known[0] is obj:
        return known[1]
    if not enc.enter(obj):
        return b"\x00" * 16  # already written above: the back reference stands in
    shared.spend()
    child = enc.child()
    try:
        rv = obj.__reduce_ex__(5)
        t = type(obj)
        h = child.h
        h.update(type_text(t))
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
        digest = h.digest()
        shared.digests[id(obj)] = (obj, digest)
        return digest
    except (RecursionError, TooLarge):
        raise
    except Exception:  # noqa: BLE001 - reduce not usable: the caller falls back
        return None
    finally:
        enc.leave(obj)


def _encode_state(enc: Encoder, obj: Any) -> bool:
    """A plain object (no pickling of its own) by its class and attributes, read
    without running any of its code (``__getattr__``, ``__getattribute__`` and
    properties are bypassed). False when it has no attribute storage to read."""
    t = type(obj)
    try:
        attrs = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        attrs = None
    if attrs is not None and not isinstance(attrs, dict):
        return False
    slots: dict[str, Any] = {}
    for klass in t.__mro__:
        raw = klass.__dict__.get("__slots__", ())
        for name in (raw,) if isinstance(raw, str) else tuple(raw) if isinstance(raw, (tuple, list, dict)) else ():
            if not isinstance(name, str) or name in ("__dict__", "__weakref__") or name in slots:
                continue
            descriptor: Any = klass.__dict__.get(name)
            if type(descriptor).__name__ != "member_descriptor":
                continue
            try:
                slots[name] = descriptor.__get__(obj, klass)
            except AttributeError:  # an unset slot
                continue
    if attrs is None and not slots:
        return False
    shared = enc.shared
    known = shared.digests.get(id(obj))
    if known is not None and known[0] is obj:  # already hashed by another path: linear time
        enc.h.update(_T_OBJECT + known[1])
        return True
    if not enc.enter(obj):
        return True
    shared.spend()
    child = enc.child()
    try:
        child.h.update(type_text(t))
        child.encode(dict(attrs or {}))
        child.encode(slots)
    finally:
        enc.leave(obj)
    digest = child.h.digest()
    shared.digests[id(obj)] = (obj, digest)
    enc.h.update(_T_OBJECT + digest)
    return True


def _encode_type_only(enc: Encoder, obj: Any, why: str) -> None:
    name = _safe_type_path(obj)
    enc.h.update(_T_TYPE_ONLY + text(name))
    enc.opaque(f"{name} {why}")


_USER_CODE: dict[type, bool] = {}


def runs_user_code(t: type) -> bool:
    """Whether pickling *t* would run notebook (user) code: a class in its MRO
    that is defined in the notebook or in a module outside the installed
    packages and the standard library defines ``__reduce__``/``__getstate__``."""
    known = _USER_CODE.get(t)
    if known is None:
        known = any(_is_user_module(getattr(klass, "__module__", None))
                    for klass in t.__mro__ if klass is not object
                    for name in ("__reduce__", "__reduce_ex__", "__getstate__") if name in vars(klass))
        _USER_CODE[t] = known
    return known


def _is_user_module(name: Any) -> bool:
    if not isinstance(name, str) or name == "__main__":
        return True
    path = getattr(sys.modules.get(name), "__file__", None)
    if not path:
        return False  # builtin and frozen modules are the interpreter's
    return not is_library_file(str(path))


def encode_pickle(enc: Encoder, obj: Any) -> None:
    """The last resort: pickle bytes (opaque), or the type path alone when pickling fails (opaque).

    Never for a class whose pickling is notebook code (see :func:`runs_user_code`)."""
    name = _safe_type_path(obj)
    if runs_user_code(type(obj)):
        _encode_type_only(enc, obj, "defines its own pickling in notebook code (not run to hash it)")
        return
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
        encode_pickle(enc, obj)
    except RecursionError:
        enc = Encoder()
        name = _safe_type_path(obj)
        enc.h.update(_T_UNHASHABLE + text(name))
        enc.opaque(f"unhashable {name}: nested too deeply")
    return enc.hexdigest(), enc.reasons[0]


def generic_digest(obj: Any) -> tuple[str, bool, str | None]:
    """``(digest, opaque, reason)`` of any value through the registry; never raises.

    An object graph too big to walk is hashed by its type (pickling it could
    be as slow); anything that fails outright goes to the pickle fallback.
    """
    enc = Encoder()
    try:
        enc.encode(obj)
    except TooLarge:
        name = _safe_type_path(obj)
        return (hash_bytes(b"too-large\0" + name.encode()), True, f"too large to hash structurally: {name}")
    except Exception:  # noqa: BLE001 - never raise: the whole value goes to the fallback
        digest, reason = pickle_fallback(obj)
        return digest, True, reason
    if enc.reasons:
        return enc.hexdigest(), True, "; ".join(enc.reasons[:3])
    return enc.hexdigest(), False, None


handlers.fallback = encode_other
handlers.library_default = lambda t: encode_by_reduce if has_own_reduce(t) else encode_other
