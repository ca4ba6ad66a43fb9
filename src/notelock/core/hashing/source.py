"""Code identities: Python source normalised through the AST, functions and classes.

``code_hash`` ignores what cannot change what code computes (comments,
whitespace, line breaks, formatting) and keeps everything else, docstrings
included. The AST dump differs between Python versions, so code hashes are
comparable within one Python minor version.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
from typing import Any

from notelock.core.hashing.base import hash_bytes, tag, text
from notelock.core.hashing.encoder import Encoder


def code_hash(source: str) -> str:
    """Hash of Python source normalised through ``ast`` (no line/column attributes).

    Source that does not parse (e.g. a cell with IPython magics) is hashed as
    its text with trailing whitespace stripped from every line (and trailing
    blank lines dropped). The two forms
    cannot collide: an AST dump is itself valid Python, so no unparsable text
    equals one.
    """
    try:
        tree = ast.parse(source)
        dumped = ast.dump(tree, annotate_fields=True, include_attributes=False)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        stripped = "\n".join(line.rstrip() for line in source.splitlines()).rstrip("\n")
        return hash_bytes(stripped.encode("utf-8", "surrogatepass"))
    return hash_bytes(dumped.encode("utf-8", "surrogatepass"))


def function_code_hash(fn: Any) -> str | None:
    """Code hash of a function or class defined in a notebook (or anywhere).

    ``code_hash`` of its dedented source when ``inspect`` can find it; else a
    canonical hash of its code object (bytecode, constants recursively,
    names, argument layout) or, for a class, of its members. Lambdas are
    always hashed by their code object, because their source line may hold
    other code too (two lambdas on one line would share it). None when
    neither works (e.g. builtins).
    """
    target = getattr(fn, "__func__", fn)  # bound methods, staticmethod, classmethod
    code = getattr(target, "__code__", None)
    is_lambda = isinstance(code, types.CodeType) and code.co_name == "<lambda>"
    if not is_lambda:
        try:
            source = inspect.getsource(target)
        except (OSError, TypeError, IndexError, SyntaxError, RecursionError):
            source = None
        if source:
            return code_hash(textwrap.dedent(source))
    if isinstance(code, types.CodeType):
        return _code_object_hash(code)
    if isinstance(target, type):
        return _class_members_hash(target)
    return None


def _code_object_hash(code: types.CodeType) -> str:
    enc = Encoder()
    enc.encode(code)
    return enc.hexdigest()


_SKIP_MEMBERS = frozenset({"__dict__", "__weakref__", "__module__", "__qualname__"})


def _class_members_hash(cls: type) -> str:
    """A class whose source is not available: name, bases and members.

    Functions, properties and static/class methods by their code; other
    attributes by value.
    """
    enc = Encoder()
    enc.write(tag("class-members") + text(cls.__qualname__))
    enc.encode(list(cls.__bases__))
    members = {k: v for k, v in vars(cls).items() if k not in _SKIP_MEMBERS}
    enc.write(len(members).to_bytes(8, "little"))
    for name in sorted(members):
        value = members[name]
        enc.write(text(name))
        if isinstance(value, property):
            parts = [value.fget, value.fset, value.fdel]
            enc.encode([None if p is None else (function_code_hash(p) or "") for p in parts])
        elif isinstance(value, (types.FunctionType, staticmethod, classmethod)):
            enc.encode(function_code_hash(value) or "")
        else:
            enc.encode(value)
    return enc.hexdigest()
