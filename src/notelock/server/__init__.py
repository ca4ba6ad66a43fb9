"""notelock's Jupyter server extension: the REST API behind the Lock sidebar.

Enabled by ``jupyter-config/server-config/notelock.json``, which the wheel
installs into the environment's ``jupyter_server_config.d``. Handlers import
the core lazily so a server that never calls them pays nothing for it.
"""

from __future__ import annotations

import atexit
from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "notelock.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the ``/notelock/…`` handlers and the replay job manager."""
    from .config import NotelockExtension
    from .handlers import NotelockService, setup_handlers
    from .jobs import ReplayJobs

    ext = NotelockExtension(parent=serverapp)
    jobs = ReplayJobs(
        ext.replay_command,
        retention_s=ext.replay_retention_s,
        max_running=ext.max_concurrent_replays,
        log=serverapp.log,
    )
    serverapp.web_app.settings["notelock"] = NotelockService(config=ext, jobs=jobs)
    setup_handlers(serverapp.web_app)
    # Function-style extensions get no stop hook; a replay runs recorded code
    # in its own process group, so make sure it dies with the server.
    atexit.register(jobs.shutdown)
    serverapp.log.info("notelock: REST API enabled under %snotelock/", serverapp.base_url)

