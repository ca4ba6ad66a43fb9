"""``notelock env`` (exact pins) and ``notelock replay --venv`` (a real venv, a real pip)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from portable_helpers import LOCK, write_data, write_notebook

from kernel_utils import run_notebook
from notelock.cli import main
from notelock.core.lockfile import load_lock

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def test_requirements_pin_every_recorded_package(built, capsys, tmp_path):
    lock = load_lock(built / LOCK)
    assert main(["env", str(built / LOCK), "--requirements"]) == 0
    text = capsys.readouterr().out
    pins = dict(line.split("==") for line in text.splitlines() if not line.startswith("#"))
    recorded = lock["environment"]["packages"]
    assert pins == {n: v for n, v in recorded.items() if n not in ("pip", "setuptools", "wheel")}
    assert f"# python {lock['environment']['python']['version']}" in text
    day = dt.date.fromisoformat(lock["run"]["started"][:10]) + dt.timedelta(days=1)
    assert f"# exclude-newer {day.isoformat()}T00:00:00Z" in text
    assert main(["env", str(built / LOCK), "--uv", "-o", str(tmp_path / "pyproject.toml"),
                 "--exclude", "notelock"]) == 0
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((tmp_path / "pyproject.toml").read_text())
    deps = dict(d.split("==") for d in project["project"]["dependencies"])
    assert deps == {n: v for n, v in pins.items() if n != "notelock"}
    assert project["project"]["requires-python"] == "==" + lock["environment"]["python"]["version"]
    assert project["tool"]["uv"]["exclude-newer"] == f"{day.isoformat()}T00:00:00Z"


def test_a_lock_without_packages_is_unusable_for_env(tmp_path, capsys, built):
    data = json.loads((built / LOCK).read_text())
    data["environment"].pop("packages")
    (tmp_path / LOCK).write_text(json.dumps(data))
    assert main(["env", str(tmp_path / LOCK)]) == 2
    assert "records no packages" in capsys.readouterr().err


def test_replay_in_a_venv_built_from_the_pins(tmp_path):
    """--venv-inherit: the pins are all installed here, so pip has nothing to download
    (the documented cheap form; without it pip installs every pin from the index)."""
    write_data(tmp_path / "data.csv")
    nb = write_notebook(tmp_path / "v.ipynb", [
        "%load_ext notelock", "import sys\nimport pandas as pd",
        "%%lock --snapshot\ndf = pd.read_csv('data.csv')\nmean = float(df['x'].mean())",
        "open('prefix.txt', 'w').write(sys.prefix)"])
    run_notebook(nb, save=False)
    venv = tmp_path / "env"
    env = {k: v for k, v in os.environ.items() if k != "PIP_INDEX_URL"}
    env["PIP_NO_INDEX"] = "1"  # proves nothing is fetched: every pin must already be satisfied
    proc = subprocess.run([sys.executable, "-m", "notelock", "replay", "v.lock.json", "--venv", str(venv),
                           "--venv-inherit"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "ran on the pinned versions:" in proc.stdout and str(venv) in proc.stdout
    assert "environment differs" not in proc.stdout
    assert (venv / "bin" / "python").exists()
    assert Path((tmp_path / "prefix.txt").read_text()).resolve() == venv.resolve(), "the kernel ran in the venv"
