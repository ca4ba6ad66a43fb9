"""docs/lockfile.md describes every field the lock's JSON Schema defines, and
the identity rules it documents are the ones the code applies."""

from __future__ import annotations

import re
from pathlib import Path

from notelock.core import lockfile, lockschema

DOC = (Path(__file__).resolve().parents[2] / "docs" / "lockfile.md").read_text(encoding="utf-8")


def _documented() -> set[str]:
    return set(re.findall(r"^\| `([a-z_]+)`", DOC, re.MULTILINE)) | set(re.findall(r"`([a-z_]+)`", DOC))


def test_every_schema_field_is_documented():
    schema = lockschema.schema()
    fields = set(schema["properties"])
    fields |= set(schema["$defs"]["cell"]["properties"]) | set(schema["$defs"]["node"]["properties"])
    missing = sorted(f for f in fields if f not in _documented())
    assert missing == []


def test_the_documented_identities_are_the_codes():
    for op, keys in lockfile.IDENTITY_KEYS.items():
        if op == "import":
            continue  # documented in docs/portability.md
        line = next((ln for ln in DOC.splitlines() if ln.startswith("Identity:") and all(f"`{k}`" in ln for k in keys)),
                    None)
        assert line is not None, f"docs/lockfile.md does not give the identity of {op}: {keys}"


def test_the_schema_version_is_the_format_version():
    assert lockschema.schema()["properties"]["notelock"]["const"] == lockfile.FORMAT_VERSION
