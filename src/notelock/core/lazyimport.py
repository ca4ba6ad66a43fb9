"""Keep nbformat's import cheap inside a user's kernel.

The workflow checksum needs nbstripout, which needs nbformat, which imports
jsonschema, whose format checkers import ``rfc3987_syntax`` at import time;
that module compiles a grammar and takes seconds, which would land on the
user's first cell. jsonschema only ever calls ``rfc3987_syntax.is_valid_syntax``
(for the rarely used "iri" formats), so a stand-in module that loads the real
one on first use keeps every behaviour identical and only moves the cost to
whoever actually validates an IRI.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

_NAME = "rfc3987_syntax"


def _load_real() -> types.ModuleType:
    current = sys.modules.get(_NAME)
    if current is not None and not getattr(current, "__notelock_stand_in__", False):
        return current
    sys.modules.pop(_NAME, None)
    try:
        return importlib.import_module(_NAME)
    except BaseException:
        if current is not None:
            sys.modules[_NAME] = current
        raise


def defer_slow_schema_imports() -> None:
    """Install the stand-in if jsonschema has not been imported yet."""
    if "jsonschema" in sys.modules or _NAME in sys.modules:
        return
    try:
        if importlib.util.find_spec(_NAME) is None:
            return
    except (ImportError, ValueError):
        return
    stand_in = types.ModuleType(_NAME, "loads the real rfc3987_syntax on first use")
    stand_in.__notelock_stand_in__ = True  # type: ignore[attr-defined]

    def is_valid_syntax(*args: Any, **kwargs: Any) -> Any:
        return _load_real().is_valid_syntax(*args, **kwargs)

    def __getattr__(name: str) -> Any:  # noqa: N807 - module-level attribute hook (PEP 562)
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_load_real(), name)

    stand_in.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    stand_in.__getattr__ = __getattr__  # type: ignore[attr-defined]
    sys.modules[_NAME] = stand_in
