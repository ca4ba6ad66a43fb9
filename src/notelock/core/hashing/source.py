"""Code identities: Python source normalised through the AST, functions and classes.

``code_hash`` ignores what cannot change what code computes (comments,
whitespace, line breaks, formatting) and keeps everything else, docstrings
included. The syntax tree is written in notelock's own canonical form, not
``ast.dump``: fields a Python version adds with an empty default (``type_params``,
``type_comment``) are left out, so the same code has the same hash on every
supported Python version.
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
        dumped = canonical_ast(tree)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        stripped = "\n".join(line.rstrip() for line in source.splitlines()).rstrip("\n")
        return hash_bytes(stripped.encode("utf-8", "surrogatepass"))
    return hash_bytes(dumped.encode("utf-8", "surrogatepass"))


def canonical_ast(tree: ast.AST) -> str:
    """A syntax tree as text: node types and their non-empty fields, in field
    order; positions, ``None`` and empty lists left out (version-independent)."""
    out: list[str] = []
    stack: list[Any] = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and item.startswith("\0"):
            out.append(item[1:])
        elif isinstance(item, ast.AST):
            parts: list[Any] = []
            for name in item._fields:
                value = getattr(item, name, None)
                if value is None or value == []:
                    continue
                if name == "kind" and isinstance(item, ast.Constant):
                    continue  # the u"" prefix: the same string
                parts.append((name, value))
            out.append(type(item).__name__ + "(")
            stack.append("\0)")
            for name, value in reversed(parts):
                stack.append("\0;")
                stack.append(value)
                stack.append("\0" + name + "=")
        elif isinstance(item, list):
            out.append("[")
            stack.append("\0]")
            for value in reversed(item):
                stack.append("\0,")
                stack.append(value)
        else:  # constants: their type counts (1 and 1.0 and True differ)
            out.append(f"{type(item).__name__}:{item!r}")
    return "".join(out)


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
