"""Functions, classes, methods, modules and code objects.

Importable functions and classes are hashed by their public dotted name;
those defined in a notebook (``__main__``), inside functions, and lambdas by
their code (see ``source.function_code_hash``) plus the values bound at
definition time (defaults, closure cells).
"""

from __future__ import annotations

import types
from typing import Any

from notelock.core.hashing.base import blob, tag, text, u64
from notelock.core.hashing.encoder import Encoder, handlers
from notelock.core.hashing.names import cacheable, global_name
from notelock.core.hashing.objects import encode_pickle
from notelock.core.hashing.source import function_code_hash

_T_MODULE = tag("module")
_T_GLOBAL = tag("global")
_T_CODEFN = tag("function-code")
_T_CODECLS = tag("class-code")
_T_METHOD = tag("method")
_T_BMETHOD = tag("builtin-method")
_T_CODE = tag("code")
_T_EMPTY_CELL = tag("empty-cell")

# Encodings of library classes by name (never stale: see names.cacheable).
_GLOBAL_BYTES: dict[type, bytes] = {}


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
    name = global_name(fn)
    if name is not None:
        enc.h.update(_T_GLOBAL + text(name))
        return
    _enc_code_function(enc, fn)


def _enc_code_function(enc: Encoder, fn: Any) -> None:
    """A function defined in a notebook, a lambda or a closure: its code and bound values."""
    if not enc.enter(fn):
        return
    try:
        digest = function_code_hash(fn)
        if digest is None:
            encode_pickle(enc, fn)
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
                enc.h.update(_T_EMPTY_CELL)
    finally:
        enc.leave(fn)


def _enc_builtin_function(enc: Encoder, fn: types.BuiltinFunctionType) -> None:
    owner = getattr(fn, "__self__", None)
    if owner is None or isinstance(owner, types.ModuleType):
        name = global_name(fn)
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
    name = global_name(cls)
    if name is not None:
        encoded = _T_GLOBAL + text(name)
        if cacheable(cls):
            _GLOBAL_BYTES[cls] = encoded
        enc.h.update(encoded)
        return
    digest = function_code_hash(cls)
    if digest is None:
        encode_pickle(enc, cls)
        return
    enc.h.update(_T_CODECLS + text(cls.__qualname__) + text(digest))


handlers.register(types.ModuleType)(_enc_module)
handlers.register(types.CodeType)(_enc_code)
handlers.register(types.FunctionType)(_enc_function)
handlers.register(types.BuiltinFunctionType)(_enc_builtin_function)
handlers.register(types.MethodType)(_enc_method)
handlers.register(type)(_enc_type)
