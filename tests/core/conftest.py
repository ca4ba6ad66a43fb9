"""Fixtures for the core tests; makes ``src/`` importable when notelock is not installed."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import notelock  # noqa: F401
except ImportError:  # running from a checkout without an install
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
