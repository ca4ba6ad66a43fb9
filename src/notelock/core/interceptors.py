"""Interceptors: wrap data readers and scikit-learn estimator methods while a
locked cell runs, and put the originals back afterwards, always.

Only the outermost intercepted call on the thread that runs the cell becomes
a node: a Pipeline's inner fits, a GridSearchCV's refits and anything joblib
runs in worker threads are part of the outer call's node. The interceptors
never change what a call returns or raises; if recording a call fails, the
call's own result is still returned and the failure is reported once.

What users and libraries can observe is kept as it was:

* an estimator method is looked up as before (``available_if`` still raises
  ``AttributeError``), is a bound method of the estimator (``__self__``,
  ``__func__``, ``inspect.signature``), and pickles (a class pickled by value
  while a cell runs, as joblib's workers do for notebook classes, carries the
  original method, never notelock's stand-in);
* scikit-learn's own method wrapping (``set_output``'s container wrapping,
  installed per class when a class is created) composes: a method another
  wrapper replaced while the cell ran is left as that wrapper put it, never
  "restored" over it;
* readers are wrapped where they live (``pandas.read_csv``) and where the
  notebook bound them (``from pandas import read_csv``), and put back only if
  the binding is still notelock's.

Readers are declared as data (:data:`READER_MODULES`), so another library's
functions are added by naming them.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
import types
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from .hashing.names import is_library_file

#: module → reader functions intercepted in it (recorded as ``module.name``)
READER_MODULES: dict[str, tuple[str, ...]] = {
    "pandas": (
        "read_csv", "read_parquet", "read_json", "read_excel", "read_feather", "read_pickle",
        "read_sql", "read_sql_query", "read_sql_table", "read_table", "read_orc", "read_fwf",
    ),
    # methods of a class are named Class.method (core/delta.py describes these reads)
    "deltalake": ("DeltaTable.to_pandas", "DeltaTable.to_pyarrow_table"),
}
READER_MODULES.update({
    # eager Polars readers (``scan_*`` plans are read at ``LazyFrame.collect``)
    "polars": (
        "read_csv", "read_parquet", "read_ipc", "read_ipc_stream", "read_json", "read_ndjson",
        "read_excel", "read_avro", "read_database", "read_database_uri",
    ),
    # a DuckDB query is noted where it is made and read where its result is fetched
    "duckdb": ("sql", "query", "execute"),
})
READERS = READER_MODULES["pandas"]
_DUCKDB_FETCH = ("df", "fetchdf", "fetch_df", "pl", "arrow", "fetch_arrow_table", "fetchall", "fetchnumpy")
#: module → (class, method) whose calls made by notebook code are reads
#: (recorded as ``module.Class.method``)
READER_METHODS: dict[str, tuple[tuple[str, str], ...]] = {
    "polars": (("LazyFrame", "collect"),),
    "duckdb": (*(("DuckDBPyRelation", m) for m in _DUCKDB_FETCH),
               *(("DuckDBPyConnection", m) for m in (*_DUCKDB_FETCH, "execute", "sql", "query"))),
}
METHODS = (
    "fit", "fit_transform", "fit_predict", "predict", "predict_proba", "predict_log_proba",
    "decision_function", "transform", "score",
)
_SKLEARN_BASE = "sklearn.base"


class CallSink(Protocol):
    """What the registry reports intercepted calls to (the recorder)."""

    def before_read(self, reader: str, func: Callable, args: tuple, kwargs: dict) -> Any: ...
    def after_read(self, token: Any, result: Any, seconds: float) -> None: ...
    def before_method(self, est: Any, method: str, func: Callable, args: tuple, kwargs: dict) -> Any: ...
    def after_method(self, token: Any, result: Any, seconds: float) -> None: ...
    def report_failure(self, where: str, err: BaseException) -> None: ...


def _original(attr: Any) -> Any:
    """Unpickling a stand-in gives back the original attribute."""
    return attr


class _MethodInterceptor:
    """Stands in a class ``__dict__`` for an estimator method while recording.

    A descriptor, so that the original descriptor is asked first: conditional
    methods (scikit-learn's ``available_if``: ``Pipeline.predict_proba``
    exists only when the last step has it) keep raising ``AttributeError``
    exactly as before, and the class-level lookup (``Est.fit``) gives the
    original, as scikit-learn's own introspection expects.
    """

    __slots__ = ("orig", "name", "registry", "_func", "__weakref__")

    def __init__(self, orig: Any, name: str, registry: InterceptorRegistry):
        self.orig = orig
        self.name = name
        self.registry = registry
        self._func = self._make_func() if isinstance(orig, types.FunctionType) else None

    def _make_func(self) -> Callable[..., Any]:
        orig, name, registry = self.orig, self.name, self.registry

        @functools.wraps(orig)
        def intercepted(est: Any, *args: Any, **kwargs: Any) -> Any:
            return registry.call_method(est, name, orig.__get__(est, type(est)), args, kwargs)

        return intercepted

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        getter = getattr(self.orig, "__get__", None)
        bound = getter(obj, objtype) if getter is not None else self.orig
        if obj is None:
            return bound
        if self._func is not None:
            # a bound method of the estimator, like the original's
            return types.MethodType(self._func, obj)
        registry, name = self.registry, self.name

        @functools.wraps(bound)
        def intercepted(*args: Any, **kwargs: Any) -> Any:
            return registry.call_method(obj, name, bound, args, kwargs)

        return intercepted

    def __reduce__(self) -> tuple[Any, tuple[Any]]:
        return _original, (self.orig,)


class _Patches:
    """Attributes notelock replaced, put back in reverse order, and only
    where the replacement is still notelock's own."""

    def __init__(self) -> None:
        self._done: list[tuple[Any, str, Any, Any, bool]] = []  # (owner, name, original, ours, in __dict__)

    def set(self, owner: Any, name: str, value: Any) -> None:
        if isinstance(owner, type):
            had = name in owner.__dict__
            original = owner.__dict__.get(name)
        else:
            had = True
            original = getattr(owner, name)
        self._done.append((owner, name, original, value, had))
        setattr(owner, name, value)

    def swap(self, namespace: dict[str, Any], name: str, value: Any) -> None:
        self._done.append((namespace, name, namespace.get(name), value, True))
        namespace[name] = value

    def holds(self, owner: Any, name: str) -> bool:
        return any(o is owner and n == name for o, n, *_ in self._done)

    def restore(self) -> None:
        while self._done:
            owner, name, original, ours, had = self._done.pop()
            if isinstance(owner, dict):
                if owner.get(name) is ours:  # the user may have rebound it meanwhile
                    owner[name] = original
                continue
            current = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
            if current is not ours:
                continue  # replaced by someone else meanwhile (a wrapper): theirs stands
            if had:
                setattr(owner, name, original)
            else:
                try:
                    delattr(owner, name)
                except AttributeError:
                    pass


def _owner(module: Any, reader: str) -> tuple[Any, str]:
    """Where a reader lives: ``read_csv`` on its module, ``DeltaTable.to_pandas`` on its class."""
    owner_name, _, name = reader.rpartition(".")
    return (getattr(module, owner_name, None) if owner_name else module), name


class InterceptorRegistry:
    """Installs and removes the wrappers; routes outermost calls to a sink."""

    def __init__(self, sink: CallSink):
        self.sink = sink
        self._thread: int | None = None
        self._depth = 0
        self._patches = _Patches()
        self._watcher: _ImportWatcher | None = None
        self._hooked: type | None = None
        self._new_classes: list[type] = []
        # what _patch_sklearn wraps, worked out once while the set of
        # estimator classes stays the same (saves milliseconds per cell)
        self._plan: list[tuple[type, str]] = []
        self._plan_key: tuple[int, ...] = ()
        self._plan_classes: list[type] = []
        self._method_names: weakref.WeakKeyDictionary[type, tuple[str, ...]] = weakref.WeakKeyDictionary()
        self.active = False

    # ----------------------------------------------------------- install
    def activate(self, namespace: dict[str, Any] | None = None) -> None:
        """Wrap every reader and estimator method currently importable."""
        if self.active:
            self.deactivate()
        self._thread = threading.get_ident()
        self._depth = 0
        self.active = True
        try:
            for module in READER_MODULES:
                self._patch_readers(module, namespace)
            self._patch_sklearn()
            missing = [m for m in (*READER_MODULES, _SKLEARN_BASE) if m not in sys.modules]
            if missing:
                # imported by the cell itself (`import pandas as pd` in a locked
                # cell): patch as soon as the module has been executed
                self._watcher = _ImportWatcher(self, frozenset(missing))
                sys.meta_path.insert(0, self._watcher)
        except BaseException:
            self.deactivate()
            raise

    def _module_loaded(self, name: str) -> None:
        if not self.active:
            return
        if name in READER_MODULES:
            self._patch_readers(name, None)
        elif name == _SKLEARN_BASE and self._hooked is None:
            self._patch_sklearn()

    def deactivate(self) -> None:
        """Put every original back, in reverse order. Idempotent."""
        self.active = False
        if self._watcher is not None:
            try:
                sys.meta_path.remove(self._watcher)
            except ValueError:
                pass
            self._watcher = None
        self._hooked = None
        self._new_classes.clear()
        self._patches.restore()

    # ----------------------------------------------------------- readers
    def _patch_readers(self, module_name: str, namespace: dict[str, Any] | None) -> None:
        module = sys.modules.get(module_name)
        if module is None or self._patches.holds(*_owner(module, READER_MODULES[module_name][0])):
            return
        originals: dict[int, Any] = {}
        for reader in READER_MODULES[module_name]:
            owner, name = _owner(module, reader)
            orig: Any = getattr(owner, name, None)
            if orig is None or getattr(orig, "__notelock_original__", None) is not None:
                continue
            wrapper = self._reader_wrapper(f"{module_name}.{reader}", orig)
            self._patches.set(owner, name, wrapper)
            originals[id(orig)] = wrapper
        if namespace:  # `from pandas import read_csv` bound the original in the notebook
            for name, value in list(namespace.items()):
                bound = originals.get(id(value))
                if bound is not None:
                    self._patches.swap(namespace, name, bound)
        for class_name, method in READER_METHODS.get(module_name, ()):
            self._patch_reader_method(module, module_name, class_name, method)

    def _patch_reader_method(self, module: Any, module_name: str, class_name: str, method: str) -> None:
        cls = getattr(module, class_name, None)
        orig = cls.__dict__.get(method) if isinstance(cls, type) else None
        if orig is None or self._patches.holds(cls, method):
            return
        registry, qualname = self, f"{module_name}.{class_name}.{method}"

        @functools.wraps(orig)
        def reader(obj: Any, *args: Any, **kwargs: Any) -> Any:
            bound = orig.__get__(obj, type(obj))
            # a library calling it for itself (Polars' eager methods collect
            # lazy plans) is part of that call, not a read of its own
            if not registry._recording() or not _called_by_user_code(sys._getframe(1)):
                return bound(*args, **kwargs)
            return registry.call_reader(qualname, bound, args, kwargs)

        try:
            self._patches.set(cls, method, reader)
        except (TypeError, AttributeError):  # an immutable extension type: not recorded
            pass

    def _reader_wrapper(self, qualname: str, orig: Callable) -> Callable:
        registry = self

        @functools.wraps(orig)
        def reader(*args: Any, **kwargs: Any) -> Any:
            return registry.call_reader(qualname, orig, args, kwargs)

        reader.__notelock_original__ = orig  # type: ignore[attr-defined]
        return reader

    # ----------------------------------------------------------- estimators
    def _patch_sklearn(self) -> None:
        base_mod = sys.modules.get(_SKLEARN_BASE)
        if base_mod is None:
            return
        base = base_mod.BaseEstimator
        # methods often live in mixins that are not BaseEstimator subclasses
        # (LinearClassifierMixin.predict, TransformerMixin.fit_transform): wrap
        # every class in each estimator's MRO, once
        subclasses = _all_subclasses(base)
        key = tuple(map(id, subclasses))
        if key != self._plan_key:  # a class appeared: work out again what to wrap
            plan: list[tuple[type, str]] = []
            done: set[type] = set()
            for cls in subclasses:
                for klass in cls.__mro__:
                    if klass not in done and klass is not object:
                        done.add(klass)
                        own = klass.__dict__
                        plan.extend((klass, name) for name in METHODS if name in own)
            # the plan holds classes strongly; the key's ids stay valid with it
            self._plan, self._plan_key, self._plan_classes = plan, key, subclasses
        for klass, name in self._plan:
            self._wrap(klass, name)
        self._hook_new_classes(base)

    def _wrap(self, klass: type, name: str) -> None:
        attr = klass.__dict__.get(name)
        if attr is None or isinstance(attr, _MethodInterceptor):
            return
        self._patches.set(klass, name, _MethodInterceptor(attr, name, self))

    def _hook_new_classes(self, base: type) -> None:
        """Estimator classes created while the cell runs (imported or defined in
        it) are wrapped too, found through ``BaseEstimator.__init_subclass__``.

        That hook runs before the rest of the class's own ``__init_subclass__``
        chain (scikit-learn's ``set_output`` wrapping replaces ``transform``
        and ``fit_transform`` there): a method replaced that way is left as it
        was put, and wrapped again, outside the new wrapper, at the next
        intercepted call."""
        registry = self
        had = base.__dict__.get("__init_subclass__")

        def __init_subclass__(cls: type, **kwargs: Any) -> None:  # noqa: N807
            if had is not None:
                getattr(had, "__func__", had)(cls, **kwargs)
            else:
                super(base, cls).__init_subclass__(**kwargs)  # type: ignore[arg-type]
            if registry.active:
                registry._new_classes.append(cls)
                registry._wrap_classes([cls])

        self._patches.set(base, "__init_subclass__", classmethod(__init_subclass__))
        self._hooked = base

    def _wrap_new_classes(self) -> None:
        self._wrap_classes(self._new_classes)

    def _wrap_classes(self, classes: list[type]) -> None:
        for cls in classes:
            for klass in cls.__mro__:
                if klass is object:
                    continue
                names = self._method_names.get(klass)
                if names is None:  # which methods a class defines itself rarely changes: remember it
                    names = self._method_names[klass] = tuple(n for n in METHODS if n in klass.__dict__)
                for name in names:
                    self._wrap(klass, name)

    # ----------------------------------------------------------- calls
    def _recording(self) -> bool:
        return self.active and self._depth == 0 and threading.get_ident() == self._thread

    def call_reader(self, qualname: str, orig: Callable, args: tuple, kwargs: dict) -> Any:
        """Run a reader; record it if it is an outermost call."""
        if not self._recording():
            return orig(*args, **kwargs)

        def read(token: Any) -> Any:
            call_args, call_kwargs = args, kwargs
            post = None
            if isinstance(token, dict):
                # a read policy may redirect the call or serve the result itself
                # (replay pinned to a snapshot: a file copy, or a SQL result's Parquet)
                if "call" in token:
                    call_args, call_kwargs = token.pop("call")
                # a stream result is read once and handed on as an equal stream
                post = token.get("_post")
                serve = token.pop("serve", None)
                if serve is not None:
                    result = serve()
                    return post(result) if post is not None else result
            result = orig(*call_args, **call_kwargs)
            return post(result) if post is not None else result

        return self._record(qualname, lambda: self.sink.before_read(qualname, orig, args, kwargs),
                            self.sink.after_read, read)

    def call_method(self, est: Any, name: str, bound: Callable, args: tuple, kwargs: dict) -> Any:
        """Run an estimator method; record it if it is an outermost call made by
        the notebook's own code (the fits ``cross_val_score`` or
        ``permutation_test_score`` make are part of that call, not nodes)."""
        if not self._recording() or not _called_by_user_code(sys._getframe(2)):
            return bound(*args, **kwargs)
        return self._record(f"{type(est).__name__}.{name}",
                            lambda: self.sink.before_method(est, name, bound, args, kwargs),
                            self.sink.after_method, lambda token: bound(*args, **kwargs))

    def _record(self, where: str, before: Callable[[], Any], after: Callable[[Any, Any, float], None],
                call: Callable[[Any], Any]) -> Any:
        """``before``, the call (nested calls pass through), then ``after``; the
        recording steps are guarded, the call's result or error is the user's."""
        if self._new_classes:
            self._guard("wrapping new estimator classes", self._wrap_new_classes)
            self._new_classes.clear()
        self._depth += 1
        try:
            token = self._guard("before " + where, before)
            start = time.perf_counter()
            result = call(token)
            seconds = time.perf_counter() - start
            if token is not None:
                self._guard("after " + where, after, token, result, seconds)
        finally:
            self._depth -= 1
        return result

    def _guard(self, where: str, func: Callable, *args: Any) -> Any:
        try:
            return func(*args)
        except Exception as err:  # noqa: BLE001 - recording must never break the user's call
            if getattr(err, "propagate", False):  # e.g. a strict schema contract: stop the cell
                raise
            try:
                self.sink.report_failure(where, err)
            except Exception:  # noqa: BLE001
                pass
            return None


class _ImportWatcher:
    """A meta-path finder that finds nothing itself: for the watched modules it
    asks the other finders, and wraps the loader so the registry hears about
    the module once it has been executed (and wraps the classes created by any
    import that finished meanwhile)."""

    def __init__(self, registry: InterceptorRegistry, watched: frozenset[str]):
        self.registry = registry
        self.watched = watched

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in self.watched:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            try:
                spec = finder.find_spec(fullname, path, target)
            except Exception:  # noqa: BLE001 - another finder's problem; let the normal import see it
                return None
            if spec is not None:
                loader = spec.loader
                if loader is not None and hasattr(loader, "exec_module"):
                    spec.loader = _NotifyingLoader(loader, self.registry)  # type: ignore[assignment]
                return spec
        return None


class _NotifyingLoader:
    """Runs the real loader, then tells the registry (never failing the import)."""

    def __init__(self, loader: Any, registry: InterceptorRegistry):
        self._loader = loader
        self._registry = registry

    def create_module(self, spec: Any) -> Any:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: Any) -> None:
        # the module keeps its real loader: nothing of notelock stays behind
        module.__loader__ = self._loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        try:
            self._registry._module_loaded(module.__name__)
        except Exception as err:  # noqa: BLE001
            self._registry.sink.report_failure("patching " + module.__name__, err)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


_LIBRARY_FILES: dict[str, bool] = {}


def _called_by_user_code(frame: Any) -> bool:
    """Whether *frame* (the caller of an intercepted method) runs notebook code
    or the user's own modules, rather than an installed library's."""
    filename = frame.f_code.co_filename
    known = _LIBRARY_FILES.get(filename)
    if known is None:
        known = _LIBRARY_FILES[filename] = is_library_file(filename)
    return not known


def _all_subclasses(cls: type) -> list[type]:
    seen: dict[type, None] = {}
    stack: list[type] = list(type.__subclasses__(cls))
    while stack:
        sub = stack.pop()
        if sub in seen:
            continue
        seen[sub] = None
        try:
            stack.extend(type.__subclasses__(sub))
        except TypeError:
            pass
    return list(seen)
