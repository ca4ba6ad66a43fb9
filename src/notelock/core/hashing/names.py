"""Dotted names of classes and functions, and the caches built on them.

Only ``sys.modules`` is consulted: resolving a name never imports anything.
"""

from __future__ import annotations

import sys
import weakref
from typing import Any

from notelock.core.hashing.base import text

# Packages whose classes are never redefined at run time (unlike classes in a
# notebook), so per-class results about them can be cached for good.
CACHEABLE_PACKAGES = frozenset({"numpy", "pandas", "pyarrow", "sklearn", "scipy", "matplotlib", "statsmodels"})

_PATHS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_TYPE_TEXT: dict[type, bytes] = {}


def public_name(obj: Any) -> str:
    """Dotted ``module.qualname`` of a class or function, private modules stripped.

    While a module component is private (starts with ``_``) and the parent
    module exposes the very same object, the last component is dropped:
    ``sklearn.ensemble._forest.RandomForestClassifier`` becomes
    ``sklearn.ensemble.RandomForestClassifier``.
    """
    try:
        return _PATHS[obj]
    except (KeyError, TypeError):
        pass
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    if not isinstance(module, str) or not module:
        module = "builtins"
    parts = module.split(".")
    while len(parts) > 1 and any(p.startswith("_") for p in parts[1:]):
        parent = sys.modules.get(".".join(parts[:-1]))
        if parent is None or resolve(parent, qualname) is not obj:
            break
        parts.pop()
    name = ".".join(parts) + "." + qualname
    try:
        _PATHS[obj] = name
    except TypeError:  # not weak-referenceable: just do not cache
        pass
    return name


def resolve(mod: Any, qualname: str) -> Any:
    """``mod.<qualname>`` following dots, or None."""
    target = mod
    for part in qualname.split("."):
        target = getattr(target, part, None)
        if target is None:
            return None
    return target


def global_name(obj: Any) -> str | None:
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
    if mod is None or resolve(mod, qualname) is not obj:
        return None
    return public_name(obj)


def type_path(cls: type) -> str:
    """Dotted public path of a class, for tags and messages."""
    return public_name(cls)


def type_name(value: Any) -> str:
    """Dotted public path of a value's class (for messages and descriptions)."""
    try:
        return type_path(type(value))
    except Exception:  # noqa: BLE001 - a broken class still gets a name
        return type(value).__name__


def cacheable(t: type) -> bool:
    """Whether *t* comes from builtins or a package whose classes are never redefined."""
    module = getattr(t, "__module__", None)
    return isinstance(module, str) and (module == "builtins" or module.split(".")[0] in CACHEABLE_PACKAGES)


def type_text(t: type) -> bytes:
    """``text(type_path(t))``, cached for library classes."""
    cached = _TYPE_TEXT.get(t)
    if cached is None:
        cached = text(type_path(t))
        if cacheable(t):
            _TYPE_TEXT[t] = cached
    return cached


_ROOTS: list[str] = []


def _library_roots() -> list[str]:
    if not _ROOTS:
        import sysconfig

        paths = sysconfig.get_paths()
        roots = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
        roots |= {p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)}
        _ROOTS.extend(sorted(str(r) for r in roots if r))
    return _ROOTS


def is_library_file(filename: str) -> bool:
    """Files of installed packages and of the standard library (not notebook
    cells, not the user's own modules)."""
    if not filename or filename.startswith("<"):
        return False  # a notebook cell (<ipython-input-…>, ipykernel's temp file) or exec'd code
    return any(filename.startswith(root) for root in _library_roots())
