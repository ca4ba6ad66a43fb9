"""scikit-learn estimators: public class paths, canonical parameters, fitted state.

An estimator is anything with callable ``get_params`` and ``fit`` (checked
against ``sklearn.base.BaseEstimator`` first when scikit-learn is loaded;
nothing here imports it). Its hash covers its public class path, its
canonical parameters and, once fitted, its learned state: every attribute in
``vars(est)`` whose name ends in ``_`` (and does not start with ``__``),
encoded value by value (arrays by their buffers, nested estimators
recursively, Cython objects such as ``sklearn.tree._tree.Tree`` through
their ``__reduce__`` state). Pickle bytes are never used, so two fits that
learned the same thing hash equal.
"""

from __future__ import annotations

import json
import os
import sys
import weakref
from typing import Any

from notelock.core.hashing.base import PREFIX, name_text, tag, text, u64
from notelock.core.hashing.encoder import Encoder, handlers
from notelock.core.hashing.names import public_name, type_text
from notelock.core.hashing.objects import generic_digest

_T_EST = tag("sklearn-estimator")

def estimator_path(obj_or_cls: Any) -> str:
    """Public dotted class path of an estimator (instance or class).

    ``sklearn.ensemble.RandomForestClassifier``, not the private
    ``sklearn.ensemble._forest`` module; classes defined in a notebook keep
    their module and qualified name (``__main__.MyEst``).
    """
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return public_name(cls)


def is_estimator(obj: Any) -> bool:
    """Whether *obj* is an estimator instance (not a class)."""
    if isinstance(obj, type):
        return False
    base = sys.modules.get("sklearn.base")
    if base is not None:
        cls = getattr(base, "BaseEstimator", None)
        if cls is not None and isinstance(obj, cls):
            return True
    # look on the type, not the instance: an instance-level __getattr__ (traitlets
    # configurables, proxies) may have side effects or answer for any name
    cls = type(obj)
    try:
        return callable(getattr(cls, "get_params", None)) and callable(getattr(cls, "fit", None))
    except Exception:  # noqa: BLE001 - a metaclass raising on access: not an estimator
        return False


_LEARNED: dict[tuple, list[str]] = {}


def _learned(est: Any) -> list[str]:
    """Sorted names of learned attributes (memoised per attribute set: forests repeat it)."""
    try:
        attrs = vars(est)
    except TypeError:  # __slots__ class without __dict__
        return []
    key = tuple(attrs)
    names = _LEARNED.get(key)
    if names is None:
        names = sorted(k for k in key if k.endswith("_") and not k.startswith("__"))
        if len(_LEARNED) >= 1024:
            _LEARNED.clear()
        _LEARNED[key] = names
    return names


#: Fitted attributes that measure the run, not what was learned, are left out
#: of an estimator's state hash by this rule (recorded in every lock): learned
#: attributes named ``*_time_`` / ``*_times_`` (``refit_time_``) and, inside a
#: learned mapping, keys named ``*_time`` / ``*_times`` (a search's
#: ``cv_results_["mean_fit_time"]``, ``std_score_time`` …).
TIMING_RULE = "fitted-timings/1"


def is_timing_name(name: str) -> bool:
    """Whether a learned attribute or learned-mapping key holds a measured time."""
    base = name[:-1] if name.endswith("_") else name
    return base.endswith(("_time", "_times")) or base in ("time", "times")


def fitted_timings(est: Any) -> dict[str, Any]:
    """The measured times the timing rule leaves out of *est*'s state hash, as plain data."""
    out: dict[str, Any] = {}
    try:
        attrs = vars(est)
    except TypeError:
        return out
    for name in _learned(est):
        value = attrs[name]
        if is_timing_name(name):
            out[name] = _plain_number(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and is_timing_name(key):
                    out[f"{name}[{key}]"] = _plain_number(item)
    return out


def _plain_number(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        value = tolist()
    if isinstance(value, float) or (isinstance(value, list) and all(isinstance(v, (int, float)) for v in value)):
        return value
    return repr(value)[:200]


def is_fitted(est: Any) -> bool:
    """Whether the estimator holds any learned attribute (name ending in ``_``)."""
    return bool(_learned(est))


def estimator_params(est: Any) -> dict:
    """Canonical plain-JSON form of ``est.get_params(deep=False)``.

    Nested estimators become ``{"estimator": path, "params": {...}}``
    (recursively, inside lists such as a Pipeline's ``steps`` too), plus
    ``"fitted": <hash>`` when the nested estimator is already fitted (a
    prefit model passed as a parameter changes the result). Classes become
    ``{"class": path}``; values that are not JSON (functions, RandomState,
    arrays, ...) become ``{"hash": value_hash(v), "type": path}``. Tuples are
    written as lists.
    """
    params = _get_params(est)
    return {str(k): _canon_param(k, params[k]) for k in sorted(params, key=str)}


def _canon_param(name: Any, v: Any) -> Any:
    """:func:`_canon`, but for scikit-learn's ``memory=`` parameter a cache
    folder given by name is a cache, wherever it is (see joblib.Memory in
    hashing/scientific.py): where fitted steps are kept never changes them."""
    if name == "memory" and isinstance(v, (str, os.PathLike)):
        return {"cache": "joblib.Memory"}
    return _canon(v)


_PARAM_NAMES: weakref.WeakKeyDictionary[type, tuple[str, ...]] = weakref.WeakKeyDictionary()


def _get_params(est: Any) -> dict:
    """``est.get_params(deep=False)``, without re-reading ``__init__``'s signature every time.

    scikit-learn's own ``get_params`` inspects the signature on each call,
    which dominates hashing a forest of small trees. When the class uses
    ``BaseEstimator``'s implementation unchanged, the parameter names are
    cached per class and read with ``getattr`` exactly as it would.
    """
    cls = type(est)
    base = sys.modules.get("sklearn.base")
    base_cls = getattr(base, "BaseEstimator", None) if base is not None else None
    own_names = getattr(getattr(cls, "_get_param_names", None), "__func__", None)
    if (
        base_cls is None
        or getattr(cls, "get_params", None) is not base_cls.get_params
        or own_names is not base_cls._get_param_names.__func__
    ):
        return est.get_params(deep=False)
    names = _PARAM_NAMES.get(cls)
    if names is None:
        names = tuple(cls._get_param_names())
        _PARAM_NAMES[cls] = names
    return {name: getattr(est, name) for name in names}


def _canon(v: Any) -> Any:
    if v is None or type(v) in (bool, str):
        return v
    if isinstance(v, str):  # str subclasses (numpy.str_, StrEnum) as plain text
        return str(v)
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    np = sys.modules.get("numpy")
    if np is not None and isinstance(v, np.generic) and v.dtype.kind in "biuf":
        return v.item()
    if isinstance(v, type):
        return {"class": public_name(v)}
    if is_estimator(v):
        out = {"estimator": estimator_path(v), "params": estimator_params(v)}
        if is_fitted(v):
            out["fitted"] = fitted_state_hash(v)
        return out
    if type(v) in (list, tuple):
        return [_canon(x) for x in v]
    if type(v) is dict and all(type(k) is str for k in v):
        return {k: _canon(v[k]) for k in sorted(v)}
    return {"hash": generic_digest(v)[0], "type": estimator_path(type(v))}


def estimator_digest(est: Any, parent: Any = None) -> bytes:
    """16-byte digest of an estimator (unfitted: path + params; fitted: + learned state).

    *parent* is an ``Encoder`` whose cycle guard and opaque reasons are shared.
    """
    enc = Encoder() if parent is None else parent.child()
    names = _learned(est)
    if not enc.enter(est):
        return enc.h.digest()
    try:
        try:
            params = _cached_params_bytes(est)
        except Exception as err:  # noqa: BLE001 - a broken get_params: hash what we can
            enc.opaque(f"parameters of {estimator_path(est)} unreadable: {type(err).__name__}")
            params = text("")
        update, encode = enc.h.update, enc.encode
        attrs = vars(est) if names else {}
        kept = [n for n in names if not is_timing_name(n)]
        update(_T_EST + type_text(type(est)) + params + u64(len(kept)))
        for name in kept:
            update(name_text(name))
            value = attrs[name]
            if type(value) is dict and any(isinstance(k, str) and is_timing_name(k) for k in value):
                value = {k: v for k, v in value.items() if not (isinstance(k, str) and is_timing_name(k))}
            encode(value)
    finally:
        enc.leave(est)
    return enc.h.digest()


_SIMPLE = (type(None), bool, int, float, str)
_TEXT_CACHE: dict[tuple, bytes] = {}  # holds classes: fine, it is bounded


def _cached_params_bytes(est: Any) -> bytes:
    """``text(_params_text(estimator_params(est)))``, memoised when every parameter is a plain scalar.

    The trees of a forest share all parameters but ``random_state``; with
    only immutable scalars the key fully determines the text, so caching is
    exact. The cache is bounded.
    """
    params = _get_params(est)
    values = tuple(params.values())
    types_ = tuple(map(type, values))
    if all(t in _SIMPLE for t in types_):
        # Types are part of the key: 1, 1.0 and True are equal dict keys.
        key = (type(est), tuple(params), values, types_)
        cached = _TEXT_CACHE.get(key)
        if cached is None:
            cached = text(_params_text({str(k): _canon_param(k, params[k]) for k in sorted(params, key=str)}))
            if len(_TEXT_CACHE) >= 1024:
                _TEXT_CACHE.clear()
            _TEXT_CACHE[key] = cached
        return cached
    return text(_params_text({str(k): _canon_param(k, params[k]) for k in sorted(params, key=str)}))


def _params_text(params: dict) -> str:
    """Canonical compact JSON of canonical params.

    ``estimator_params`` already returns plain JSON data, so ``json.dumps``
    is called directly (``canonical.dumps_compact`` would walk it again);
    non-finite floats are written as ``NaN``/``Infinity`` tokens, which is
    just as deterministic for hashing.
    """
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True, default=str)


def fitted_state_hash(est: Any) -> str:
    """Hash of class path + canonical params + learned state (attributes ending in ``_``).

    Canonical, not pickle-based: two fits that learned the same trees hash
    equal even though their pickles differ. For an unfitted estimator this is
    the hash of its class path and parameters.
    """
    return PREFIX + estimator_digest(est).hex()


_T_ESTIMATOR = tag("estimator")


@handlers.register_predicate(is_estimator)
def _encode_estimator(enc: Encoder, obj: Any) -> None:
    enc.h.update(_T_ESTIMATOR + estimator_digest(obj, enc))


def has_params(obj: Any) -> bool:
    """Objects following scikit-learn's parameter convention that are not
    estimators (kernels, scorers with ``get_params``): hashed by their class
    and canonical parameters."""
    if isinstance(obj, type) or is_estimator(obj):
        return False
    try:
        return callable(getattr(type(obj), "get_params", None)) and callable(getattr(type(obj), "set_params", None))
    except Exception:  # noqa: BLE001
        return False


_T_PARAMS = tag("params-object")


@handlers.register_predicate(has_params)
def _encode_params_object(enc: Encoder, obj: Any) -> None:
    enc.h.update(_T_PARAMS + type_text(type(obj)) + _cached_params_bytes(obj))
