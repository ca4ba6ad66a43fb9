"""The labextension's TypeScript lock types follow the lock's JSON Schema,
and the lock its tests render is a valid lock of the current format.

tokens.ts is read as text: every field an interface declares must be a
property the schema defines for that object, and every key the schema
requires must be declared and not optional. No Node.js needed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from notelock.core import lockfile, lockschema

ROOT = Path(__file__).resolve().parents[2]
TOKENS = ROOT / "labextension" / "src" / "tokens.ts"
FIXTURE = ROOT / "labextension" / "test" / "fixtures" / "fraud_detection.lock.json"
SCHEMA = json.loads((ROOT / "src" / "notelock" / "core" / "lock.schema.json").read_text(encoding="utf-8"))


def interface_fields(name: str) -> dict[str, bool]:
    """Top-level fields of ``interface <name>`` → optional?, nested literal types skipped."""
    text = TOKENS.read_text(encoding="utf-8")
    start = re.search(rf"export interface {name} \{{", text)
    assert start, f"{name} is not in tokens.ts"
    depth, i, body = 1, start.end(), []
    while depth:
        ch = text[i]
        depth += ch == "{"
        depth -= ch == "}"
        if depth == 1 or (depth == 2 and ch == "{"):
            body.append(ch)
        i += 1
    fields = {}
    for line in re.sub(r"//[^\n]*|/\*.*?\*/", "", "".join(body), flags=re.S).splitlines():
        match = re.match(r"\s*(\w+)(\?)?:", line)
        if match:
            fields[match.group(1)] = bool(match.group(2))
    return fields


def nested_fields(interface: str, field: str) -> set[str]:
    """Fields of the literal object type of ``<interface>.<field>``."""
    text = TOKENS.read_text(encoding="utf-8")
    start = re.search(rf"export interface {interface} \{{", text).end()
    match = re.compile(rf"\n  {field}\?: \{{").search(text, start)
    depth, i, body = 1, match.end(), []
    while depth:
        ch = text[i]
        depth += ch == "{"
        depth -= ch == "}"
        if depth == 1:
            body.append(ch)
        i += 1
    return {m.group(1) for m in re.finditer(r"^\s*(\w+)\??:", "".join(body), flags=re.M)}


CASES = [
    ("ILock", SCHEMA),
    ("ILockCell", SCHEMA["$defs"]["cell"]),
    ("ILockNode", SCHEMA["$defs"]["node"]),
    ("ISchema", SCHEMA["$defs"]["schema"]),
]


@pytest.mark.parametrize("interface, definition", CASES, ids=[c[0] for c in CASES])
def test_typescript_lock_fields_are_schema_properties_and_required_keys_are_declared(interface, definition):
    fields = interface_fields(interface)
    assert len(fields) >= 1  # positive control: the interface was parsed
    properties = set(definition["properties"])
    assert set(fields) <= properties, f"{interface} declares fields the schema does not know: {set(fields) - properties}"
    for key in definition.get("required", []):
        assert key in fields, f"{interface} lacks the required key {key!r}"
        assert not fields[key], f"{interface}.{key} is required by the schema but optional in TypeScript"


def test_the_workflow_type_follows_the_schema():
    declared = nested_fields("ILock", "workflow")
    assert {"notebook", "checksum", "git"} <= declared
    assert declared <= set(SCHEMA["$defs"]["workflow"]["properties"])


def test_the_parser_sees_a_field_the_schema_lacks(tmp_path, monkeypatch):
    """Negative control: a made-up field in an interface is caught."""
    fake = tmp_path / "tokens.ts"
    fake.write_text(TOKENS.read_text(encoding="utf-8").replace("export interface ILockCell {",
                                                                "export interface ILockCell {\n  made_up?: number;"))
    monkeypatch.setattr(__import__(__name__), "TOKENS", fake)
    assert "made_up" in interface_fields("ILockCell")
    assert "made_up" not in SCHEMA["$defs"]["cell"]["properties"]


def test_the_rendering_fixture_is_a_valid_lock_of_the_current_format():
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert data["notelock"] == lockfile.FORMAT_VERSION
    jsonschema.validate(data, SCHEMA)  # an independent validator
    lockschema.validate(data)  # the validator notelock loads locks with
    lockfile.load_lock(FIXTURE)  # and the format's own loader: identities recomputed
