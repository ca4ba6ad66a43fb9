"""The lock format as a JSON Schema, and the validator the loader uses.

``lock.schema.json`` (beside this module) is the contract: the loader checks
every lock against it, docs/lockfile.md's field table is tested against it,
and the sidebar's TypeScript types are checked against it. The validator is
the subset of JSON Schema that file uses (``type``, ``const``, ``enum``,
``properties``, ``required``, ``additionalProperties``, ``propertyNames``,
``items``, ``pattern``, ``minimum``/``maximum``, ``oneOf``, local ``$ref``),
small enough to run on every load without importing a schema library; the
tests check it agrees with the ``jsonschema`` package on the locks they make.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("lock.schema.json")


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The lock format's JSON Schema."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


class SchemaError(Exception):
    """Where the data breaks the schema, and how (one line)."""

    def __init__(self, where: str, what: str):
        super().__init__(f"{where}: {what}")
        self.where, self.what = where, what


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _is(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[kind])


def _name(value: Any) -> str:
    for kind in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _is(value, kind):
            return kind
    return type(value).__name__


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _child(where: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    if isinstance(key, str) and key.isidentifier():
        return f"{where}.{key}" if where else key
    return f"{where}[{json.dumps(key)}]"


def validate(data: Any, node: dict[str, Any] | None = None, where: str = "") -> None:
    """Raise :class:`SchemaError` at the first place *data* breaks the lock schema."""
    root = schema()
    _check(data, node if node is not None else root, where or "top level", root)


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are supported: {ref}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def _check(value: Any, node: dict[str, Any], where: str, root: dict[str, Any]) -> None:
    node = _resolve(node, root)
    if "oneOf" in node:
        errors = []
        for option in node["oneOf"]:
            try:
                _check(value, option, where, root)
                return
            except SchemaError as err:
                errors.append(err.what)
        raise SchemaError(where, " or ".join(dict.fromkeys(errors)))
    kinds = node.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(value, k) for k in kinds):
            raise SchemaError(where, f"expected {' or '.join(kinds)}, got {_name(value)}")
    if "const" in node and value != node["const"]:
        raise SchemaError(where, f"must be {json.dumps(node['const'])}, got {json.dumps(value)[:60]}")
    if "enum" in node and value not in node["enum"]:
        raise SchemaError(where, f"must be one of {', '.join(json.dumps(e) for e in node['enum'])}")
    if isinstance(value, str) and "pattern" in node and not _regex(node["pattern"]).search(value):
        raise SchemaError(where, f"not of the expected form: {value[:60]!r}")
    if _is(value, "number"):
        if "minimum" in node and value < node["minimum"]:
            raise SchemaError(where, f"must be at least {node['minimum']}, got {value}")
        if "maximum" in node and value > node["maximum"]:
            raise SchemaError(where, f"must be at most {node['maximum']}, got {value}"[:120])
    if isinstance(value, dict):
        for key in node.get("required", ()):
            if key not in value:
                raise SchemaError(_child(where, key) if where != "top level" else key, "missing")
        props = node.get("properties", {})
        extra = node.get("additionalProperties", True)
        names = node.get("propertyNames")
        for key, item in value.items():
            here = _child("" if where == "top level" else where, key)
            if names is not None:
                _check(key, names, here, root)
            if key in props:
                _check(item, props[key], here, root)
            elif extra is False:
                raise SchemaError(here, "unknown field")
            elif isinstance(extra, dict):
                _check(item, extra, here, root)
    elif isinstance(value, list) and "items" in node:
        for i, item in enumerate(value):
            _check(item, node["items"], _child(where, i), root)


__all__ = ["schema", "validate", "SchemaError", "SCHEMA_PATH"]
