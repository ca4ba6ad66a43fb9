"""The acceptance on a clean virtual environment: the README's install command,
then ``jupyter nbconvert --to lockfile``, ``notelock lock`` and an interactive
run agree on the example notebook's identity.

Slow (the install builds the JupyterLab extension unless it is already built);
pip's wheel cache is shared with the developer's, so dependencies are not
rebuilt on every run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "notebooks" / "fraud_detection.ipynb"

pytestmark = [pytest.mark.slow, pytest.mark.kernel, pytest.mark.timeout(3600)]

#: an interactive run as JupyterLab does it: a fresh kernel in the notebook's
#: folder that knows its notebook from the session path
INTERACTIVE_RUN = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    import nbformat
    from nbclient import NotebookClient

    path = Path(sys.argv[1]).absolute()
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ, JPY_SESSION_NAME=str(path))
    NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute(
        env=env, cwd=str(path.parent))
""")


def clean_env(venv: Path) -> dict[str, str]:
    """The environment of a shell with *venv* activated and nothing of this tree on the path."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "JPY_SESSION_NAME")
           and not k.startswith("NOTELOCK_")}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    env["FRAUD_ROWS"] = "3000"
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    venv = tmp_path_factory.mktemp("clean") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = clean_env(venv)
    # the README's install command, from the repository root
    run([str(venv / "bin" / "pip"), "install", "-e", ".[test]"], cwd=ROOT, env=env, timeout=3000)
    return venv, env


def test_exporter_is_registered_after_install(installed, tmp_path):
    venv, env = installed
    names = run([str(venv / "bin" / "python"), "-c", "import nbconvert; print(nbconvert.get_export_names())"],
                cwd=tmp_path, env=env).stdout
    assert "'lockfile'" in names
    assert "lockfile" in run([str(venv / "bin" / "jupyter"), "nbconvert", "--help-all"], cwd=tmp_path, env=env).stdout
    assert "lock" in run([str(venv / "bin" / "notelock"), "--help"], cwd=tmp_path, env=env).stdout


def test_nbconvert_cli_and_interactive_run_agree_after_install(installed, tmp_path):
    venv, env = installed
    notebook = tmp_path / EXAMPLE.name
    shutil.copy(EXAMPLE, notebook)
    # notelock lock first: it generates the data the other two runs then read
    run([str(venv / "bin" / "notelock"), "lock", notebook.name, "--output-dir", "cli"], cwd=tmp_path, env=env)
    run([str(venv / "bin" / "jupyter"), "nbconvert", "--to", "lockfile", notebook.name, "--output-dir", "OUT"],
        cwd=tmp_path, env=env)
    run([str(venv / "bin" / "python"), "-c", INTERACTIVE_RUN, notebook.name], cwd=tmp_path, env=env)

    def identity(path: Path) -> str:
        return json.loads(path.read_text())["identity"]

    exported = identity(tmp_path / "OUT" / "fraud_detection.lock.json")
    assert exported == identity(tmp_path / "cli" / "fraud_detection.lock.json")
    assert exported == identity(tmp_path / "fraud_detection.lock.json")
