"""Browser tests drive Playwright's sync API, which runs its own event loop."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def jp_asyncio_loop():
    """Replace pytest-jupyter's per-test event loop here.

    When the REST tests load pytest-jupyter in the same session, its autouse
    loop fixture would try to close the loop Playwright is running.
    """
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup():
    """No in-process server to clean up: these tests start ``jupyter lab`` as a subprocess."""
    yield
