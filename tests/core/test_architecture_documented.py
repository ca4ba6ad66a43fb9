"""docs/architecture.md has one line for every module of src/notelock, and no line for a module that is gone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_module_has_its_line():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split("```text", 1)[1].split("```", 1)[0]
    documented = {m.group(1) for m in re.finditer(r"^(notelock/\S+\.py)\s+\S", block, re.MULTILINE)}
    modules = {str(p.relative_to(ROOT / "src")) for p in (ROOT / "src" / "notelock").rglob("*.py")
               if "labextension" not in p.parts}
    assert sorted(modules - documented) == [], "modules without a line in docs/architecture.md"
    assert sorted(documented - modules) == [], "lines for modules that do not exist"
