"""The README's quick start runs as written, cell by cell, in a real kernel."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel
README = Path(__file__).resolve().parents[2] / "README.md"


def quick_start_cells() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_quick_start_runs_as_written(kernel_factory, tmp_path: Path):
    cells = quick_start_cells()
    assert len(cells) >= 4 and cells[0].strip() == "%load_ext notelock"
    k = kernel_factory(notebook="fraud.ipynb")
    for cell in cells:
        k.ok(cell)
    lock = json.loads((tmp_path / "fraud.lock.json").read_text())
    ops = sorted(n["op"] for n in lock["nodes"].values())
    assert ops.count("read") == 1 and "fit" in ops and "predict" in ops
    read = next(n for n in lock["nodes"].values() if n["op"] == "read")
    assert read["path"] == "transactions.csv" and read.get("snapshot")
