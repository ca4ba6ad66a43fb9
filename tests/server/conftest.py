"""Fixtures for the REST API: a real jupyter_server with notelock enabled.

The replay command is replaced by ``fake_replay.py`` (same event protocol) so
these tests do not depend on kernels; one test runs the real CLI. The
pytest-jupyter plugin is declared in the top-level conftest.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from rest_helpers import make_lock, write_notebook

from notelock.core import lockfile
from notelock.core.workflow import notebook_checksum

FAKE_REPLAY = Path(__file__).with_name("fake_replay.py")


@pytest.fixture
def replay_command() -> list[str]:
    return [sys.executable, str(FAKE_REPLAY)]


@pytest.fixture
def jp_server_config(replay_command):
    return {
        "ServerApp": {"jpserver_extensions": {"notelock": True}},
        "NotelockExtension": {"replay_command": replay_command},
    }


@pytest.fixture
def notelock_jobs(jp_serverapp):
    """The server's replay jobs; running ones are killed after the test."""
    jobs = jp_serverapp.web_app.settings["notelock"].jobs
    yield jobs
    jobs.shutdown()


@pytest.fixture
def locked_notebook(jp_root_dir: Path):
    """``sub/nb.ipynb`` with an up-to-date ``sub/nb.lock.json`` beside it; returns the notebook."""
    nb = write_notebook(jp_root_dir / "sub" / "nb.ipynb")
    lockfile.write_lock(nb.with_name("nb.lock.json"), make_lock(notebook_checksum(nb)))
    return nb
