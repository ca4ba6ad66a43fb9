"""The server extension's settings, configurable like any Jupyter option.

``c.NotelockExtension.replay_command = [...]`` in ``jupyter_server_config.py``
or ``--NotelockExtension.replay_command=...`` on the command line.
"""

from __future__ import annotations

import sys

from traitlets import Float, Int, List, Unicode, default
from traitlets.config import Configurable


class NotelockExtension(Configurable):
    """Settings of notelock's REST API."""

    replay_command = List(
        Unicode(),
        help=(
            "The command that replays a lock file. The lock file's path and "
            "'--events' are appended; it must print one JSON event per line."
        ),
    ).tag(config=True)

    @default("replay_command")
    def _default_replay_command(self) -> list[str]:
        # The server's own interpreter, so the replay sees the same packages.
        return [sys.executable, "-m", "notelock", "replay"]

    replay_retention_s = Float(
        3600.0, help="Seconds a finished replay's results stay available."
    ).tag(config=True)

    max_concurrent_replays = Int(
        2, help="Replays allowed to run at once; more are refused with 429."
    ).tag(config=True)

    replay_wait_max_s = Float(
        30.0, help="Longest a GET on a replay job may wait for news (long polling)."
    ).tag(config=True)
