"""The core never imports a Jupyter package: checked in a clean interpreter,
with a positive control showing the check does see such imports."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import notelock.core

FORBIDDEN = ["IPython", "jupyter_server", "tornado", "nbconvert", "traitlets", "nbclient", "jupyter_client",
             "ipykernel", "nbformat"]


def _loaded_after(imports: list[str]) -> list[str]:
    code = ("import importlib, json, sys\n"
            f"for name in {imports!r}:\n    importlib.import_module(name)\n"
            f"print(json.dumps(sorted(m for m in {FORBIDDEN!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_core_modules_import_no_jupyter_package():
    modules = sorted(f"notelock.core.{m.name}" for m in pkgutil.iter_modules(notelock.core.__path__))
    assert "notelock.core.recorder" in modules and "notelock.core.hashing" in modules
    assert _loaded_after(modules) == []


def test_positive_control_the_faces_do_import_them():
    assert "IPython" in _loaded_after(["notelock.kernel"])
    assert "tornado" in _loaded_after(["notelock.server.handlers"])


def test_import_notelock_is_cheap():
    assert _loaded_after(["notelock"]) == []
