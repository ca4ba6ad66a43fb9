"""What notelock keeps on a shell: the recording, held by the magics object
the shell has registered (nothing is kept in module state keyed by ids)."""

from __future__ import annotations

from typing import Any

MAGICS_NAME = "LockMagics"


def recording_of(shell: Any) -> Any:
    """The live recording attached to *shell*, or None if notelock is not loaded there."""
    registry = getattr(getattr(shell, "magics_manager", None), "registry", None) or {}
    recording = getattr(registry.get(MAGICS_NAME), "recording", None)
    if recording is None or getattr(recording, "closed", True):
        return None
    return recording
