"""The package version, kept in step with labextension/package.json."""

from __future__ import annotations

try:
    from importlib.metadata import version

    __version__ = version("notelock")
except Exception:  # noqa: BLE001 - running from a source tree without metadata
    __version__ = "0.0.0+unknown"
