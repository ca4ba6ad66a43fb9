"""docs/settings.md lists exactly the settings and %%lock options the protocol module defines."""

from __future__ import annotations

import re
from pathlib import Path

from notelock.core.protocol import LOCK_OPTIONS, SETTINGS

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_is_documented_and_nothing_else():
    text = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(NOTELOCK_[A-Z_]+)` \|", text, re.MULTILINE))
    assert documented == set(SETTINGS)


def test_every_lock_option_is_documented():
    text = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(--[a-z-]+)", text, re.MULTILINE))
    assert documented == {o.flag for o in LOCK_OPTIONS}


def test_no_setting_is_read_outside_the_protocol_module():
    src = Path(__file__).resolve().parents[2] / "src" / "notelock"
    offenders = []
    for path in src.rglob("*.py"):
        if path.name == "protocol.py":
            continue
        for name in re.findall(r"""(?:\.get\(|\[)["'](NOTELOCK_[A-Z_]+)""", path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(src)}: {name}")
    assert offenders == []
