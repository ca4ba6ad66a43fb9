"""ruff (lint and import order) and mypy, as configured in pyproject.toml, are
part of the test suite, so the one test command runs them everywhere CI does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("tool", [["ruff", "check", "src", "tests", "bench"], ["mypy"]], ids=["ruff", "mypy"])
def test_static_checks_pass(tool):
    done = subprocess.run([sys.executable, "-m", *tool], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


def test_no_stand_in_module_replaces_another_package():
    code = ("import sys, notelock.kernel, notelock.core.workflow as w\n"
            "w.notebook_checksum\n"
            "bad = [n for n, m in list(sys.modules.items()) if getattr(m, '__notelock_stand_in__', False)]\n"
            "print(bad, 'rfc3987_syntax' in sys.modules and type(sys.modules['rfc3987_syntax']).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out.startswith("[]")
    assert "stand" not in out.lower()
