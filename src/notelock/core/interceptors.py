"""Interceptors: wrap pandas readers and scikit-learn estimator methods while a
locked cell runs, and put the originals back afterwards, always.

Only the outermost intercepted call on the thread that runs the cell becomes
a node: a Pipeline's inner fits, a GridSearchCV's refits and anything joblib
runs in worker threads are part of the outer call's node. The interceptors
never change what a call returns or raises; if recording a call fails, the
call's own result is still returned and the failure is reported once.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Protocol

READERS = (
    "read_csv", "read_parquet", "read_json", "read_excel", "read_feather", "read_pickle",
    "read_sql", "read_sql_query", "read_sql_table", "read_table", "read_orc", "read_fwf",
)
METHODS = (
    "fit", "fit_transform", "fit_predict", "predict", "predict_proba", "predict_log_proba",
    "decision_function", "transform", "score",
)


class CallSink(Protocol):
    """What the registry reports intercepted calls to (the recorder)."""

    def before_read(self, reader: str, func: Callable, args: tuple, kwargs: dict) -> Any: ...
    def after_read(self, token: Any, result: Any, seconds: float) -> None: ...
    def before_method(self, est: Any, method: str, func: Callable, args: tuple, kwargs: dict) -> Any: ...
    def after_method(self, token: Any, result: Any, seconds: float) -> None: ...
    def report_failure(self, where: str, err: BaseException) -> None: ...


class _MethodInterceptor:
    """Stands in a class ``__dict__`` for an estimator method while recording.

    A descriptor rather than a plain function so that conditional methods
    (scikit-learn's ``available_if``: ``Pipeline.predict_proba`` exists only
    when the last step has it) keep raising ``AttributeError`` exactly as
    before: the original descriptor is asked first.
    """

    __slots__ = ("orig", "name", "registry")

    def __init__(self, orig: Any, name: str, registry: InterceptorRegistry):
        self.orig = orig
        self.name = name
        self.registry = registry

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        getter = getattr(self.orig, "__get__", None)
        bound = getter(obj, objtype) if getter is not None else self.orig
        if obj is None:
            return bound
        registry, name = self.registry, self.name

        @functools.wraps(bound)
        def intercepted(*args: Any, **kwargs: Any) -> Any:
            return registry.call_method(obj, name, bound, args, kwargs)

        return intercepted


class InterceptorRegistry:
    """Installs and removes the wrappers; routes outermost calls to a sink."""

    def __init__(self, sink: CallSink):
        self.sink = sink
        self._thread: int | None = None
        self._depth = 0
        self._patched_attrs: list[tuple[Any, str, Any]] = []  # (owner, name, original)
        self._ns_swaps: list[tuple[dict, str, Any, Any]] = []  # (namespace, name, original, wrapper)
        self._base_hook: tuple[type, Any] | None = None
        self._watcher: _ImportWatcher | None = None
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
            self._patch_pandas(namespace)
            self._patch_sklearn()
            if "pandas" not in sys.modules or "sklearn.base" not in sys.modules:
                # imported by the cell itself (`import pandas as pd` in a locked
                # cell): patch as soon as the module has been executed
                self._watcher = _ImportWatcher(self)
                sys.meta_path.insert(0, self._watcher)
        except BaseException:
            self.deactivate()
            raise

    def _module_loaded(self, name: str) -> None:
        if not self.active:
            return
        if name == "pandas" and not any(owner is sys.modules.get("pandas") for owner, _, _ in self._patched_attrs):
            self._patch_pandas(None)
        elif name == "sklearn.base" and self._base_hook is None:
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
        while self._ns_swaps:
            ns, name, orig, wrapper = self._ns_swaps.pop()
            if ns.get(name) is wrapper:  # the user may have rebound it meanwhile
                ns[name] = orig
        if self._base_hook is not None:
            base, had = self._base_hook
            self._base_hook = None
            if had is _MISSING:
                try:
                    delattr(base, "__init_subclass__")
                except AttributeError:
                    pass
            else:
                base.__init_subclass__ = had
        while self._patched_attrs:
            owner, name, orig = self._patched_attrs.pop()
            setattr(owner, name, orig)

    def _set(self, owner: Any, name: str, value: Any) -> None:
        self._patched_attrs.append((owner, name, owner.__dict__[name] if isinstance(owner, type)
                                    else getattr(owner, name)))
        setattr(owner, name, value)

    def _patch_pandas(self, namespace: dict[str, Any] | None) -> None:
        pd = sys.modules.get("pandas")
        if pd is None:
            return
        originals: dict[int, Any] = {}
        for reader in READERS:
            orig = getattr(pd, reader, None)
            if orig is None:
                continue
            wrapper = self._reader_wrapper(f"pandas.{reader}", orig)
            self._set(pd, reader, wrapper)
            originals[id(orig)] = wrapper
        if namespace:  # `from pandas import read_csv` bound the original in the notebook
            for name, value in list(namespace.items()):
                wrapper = originals.get(id(value))
                if wrapper is not None:
                    namespace[name] = wrapper
                    self._ns_swaps.append((namespace, name, value, wrapper))

    def _reader_wrapper(self, qualname: str, orig: Callable) -> Callable:
        registry = self

        @functools.wraps(orig)
        def reader(*args: Any, **kwargs: Any) -> Any:
            return registry.call_reader(qualname, orig, args, kwargs)

        reader.__notelock_original__ = orig  # type: ignore[attr-defined]
        return reader

    def _patch_sklearn(self) -> None:
        base_mod = sys.modules.get("sklearn.base")
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
        patched = self._patched_attrs
        for klass, name in self._plan:
            attr = klass.__dict__.get(name)
            if attr is None or isinstance(attr, _MethodInterceptor):
                continue
            patched.append((klass, name, attr))
            setattr(klass, name, _MethodInterceptor(attr, name, self))
        # classes created while the cell runs (imported or defined in it) get
        # wrapped as they are created
        registry = self
        had = base.__dict__.get("__init_subclass__", _MISSING)

        def __init_subclass__(cls, **kwargs: Any) -> None:  # noqa: N807
            if had is not _MISSING:
                getattr(had, "__func__", had)(cls, **kwargs)
            else:
                super(base, cls).__init_subclass__(**kwargs)
            if registry.active:
                for klass in cls.__mro__:
                    if klass is not object:
                        registry._patch_class(klass)

        self._base_hook = (base, had)
        base.__init_subclass__ = classmethod(__init_subclass__)

    def _patch_class(self, cls: type) -> None:
        own = cls.__dict__
        names = self._method_names.get(cls)
        if names is None:  # which methods a class defines itself rarely changes: remember it
            names = self._method_names[cls] = tuple(n for n in METHODS if n in own)
        for name in names:
            attr = own.get(name)
            if attr is None or isinstance(attr, _MethodInterceptor):
                continue
            self._patched_attrs.append((cls, name, attr))
            setattr(cls, name, _MethodInterceptor(attr, name, self))

    # ----------------------------------------------------------- calls
    def _recording(self) -> bool:
        return self.active and self._depth == 0 and threading.get_ident() == self._thread

    def call_reader(self, qualname: str, orig: Callable, args: tuple, kwargs: dict) -> Any:
        """Run a pandas reader; record it if it is an outermost call."""
        if not self._recording():
            return orig(*args, **kwargs)

        def read(token: Any) -> Any:
            call_args, call_kwargs = args, kwargs
            if isinstance(token, dict):
                # a read policy may redirect the call or serve the result itself
                # (replay pinned to a snapshot: a file copy, or a SQL result's Parquet)
                if "call" in token:
                    call_args, call_kwargs = token.pop("call")
                serve = token.pop("serve", None)
                if serve is not None:
                    return serve()
            return orig(*call_args, **call_kwargs)

        return self._record(qualname, lambda: self.sink.before_read(qualname, orig, args, kwargs),
                            self.sink.after_read, read)

    def call_method(self, est: Any, name: str, bound: Callable, args: tuple, kwargs: dict) -> Any:
        """Run an estimator method; record it if it is an outermost call."""
        if not self._recording():
            return bound(*args, **kwargs)
        return self._record(f"{type(est).__name__}.{name}",
                            lambda: self.sink.before_method(est, name, bound, args, kwargs),
                            self.sink.after_method, lambda token: bound(*args, **kwargs))

    def _record(self, where: str, before: Callable[[], Any], after: Callable[[Any, Any, float], None],
                call: Callable[[Any], Any]) -> Any:
        """``before``, the call (nested calls pass through), then ``after``; the
        recording steps are guarded, the call's result or error is the user's."""
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


_MISSING = object()
_WATCHED = ("pandas", "sklearn.base")


class _ImportWatcher:
    """A meta-path finder that finds nothing itself: for pandas and
    sklearn.base it asks the other finders, and wraps the loader so the
    registry hears about the module once it has been executed."""

    def __init__(self, registry: InterceptorRegistry):
        self.registry = registry

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in _WATCHED:
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
                    spec.loader = _NotifyingLoader(loader, self.registry)
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


def _all_subclasses(cls: type) -> list[type]:
    seen: dict[type, None] = {}
    stack = list(type.__subclasses__(cls))
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
