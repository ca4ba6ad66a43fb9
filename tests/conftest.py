"""Shared fixtures: real kernels, the example notebook in a scratch folder."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kernel_utils import Kernel, run_notebook  # noqa: E402

EXAMPLE = ROOT / "notebooks" / "fraud_detection.ipynb"

# every lock notelock writes during the suite — in this process, in the kernels,
# builds and replays it starts — is validated against lock.schema.json first
os.environ["NOTELOCK_CHECK_WRITES"] = "1"

# jupyter_server fixtures (jp_fetch, jp_serverapp…) for tests/server; pytest
# only accepts plugin declarations in the top-level conftest
pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def fraud_dir(tmp_path: Path) -> Path:
    """A scratch folder holding a copy of the example notebook."""
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    return tmp_path


@pytest.fixture
def kernel_factory(tmp_path: Path):
    """Start real IPython kernels (as JupyterLab would, with the session path set)."""
    started: list[Kernel] = []

    def start(cwd: Path | None = None, notebook: str | None = "scratch.ipynb", env: dict | None = None) -> Kernel:
        kernel = Kernel(cwd or tmp_path, notebook=notebook, env=env)
        started.append(kernel)
        return kernel

    yield start
    for kernel in started:
        kernel.shutdown()


@pytest.fixture
def kernel(kernel_factory):
    """One real kernel with notelock loaded, in a scratch folder."""
    k = kernel_factory()
    k.ok("%load_ext notelock")
    return k


@pytest.fixture(scope="session")
def example_notebook() -> Path:
    return EXAMPLE


__all__ = ["run_notebook", "Kernel", "os"]
