"""Run the TypeScript unit tests (jest) of labextension/ from pytest.

The package build installs the extension's node modules, so wherever the
package was built from this source tree the rendering tests run with the rest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension"


def _jlpm() -> str | None:
    beside_python = Path(sys.executable).with_name("jlpm")
    return str(beside_python) if beside_python.exists() else shutil.which("jlpm")


@pytest.mark.slow
def test_lock_rendering_unit_tests_pass():
    jlpm = _jlpm()
    if not (LABEXTENSION / "node_modules" / ".bin" / "jest").exists() or jlpm is None:
        message = "labextension/node_modules is missing: build the package (pip install -e .) first"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(jlpm).parent), os.environ.get("PATH", "")]))
    result = subprocess.run([jlpm, "test", "--ci"], cwd=LABEXTENSION, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert " passed" in result.stderr + result.stdout
