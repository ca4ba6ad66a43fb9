"""The CLI reference stays in step with the argparse tree, and every command has help."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from notelock.cli import COMMAND_MODULES, build_parser, main

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)


#: the command modules this checkout has (COMMAND_MODULES may name more)
PRESENT = sorted(m for m in COMMAND_MODULES if importlib.util.find_spec(f"notelock.cli.{m}") is not None)


def test_every_command_module_is_registered():
    assert _commands() == PRESENT and {"lock", "show", "replay", "diff"} <= set(PRESENT)


@pytest.mark.parametrize("command", PRESENT)
def test_every_command_is_documented_and_has_help(command: str, capsys):
    assert f"## `notelock {command}" in DOCS.read_text(encoding="utf-8")
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    assert "usage: notelock" in capsys.readouterr().out


def test_bad_usage_is_one_line_and_exit_2():
    proc = subprocess.run([sys.executable, "-m", "notelock", "show"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("notelock: error:")


def test_unusable_lock_is_one_line_and_exit_2(tmp_path: Path):
    bad = tmp_path / "x.lock.json"
    bad.write_text('{"notelock": 1, "cells": [')
    proc = subprocess.run([sys.executable, "-m", "notelock", "show", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "notelock: error: x.lock.json: invalid JSON at line 1 column 27: " \
        "Expecting value (truncated?)"
