"""The environment a lock recorded, as files an installer takes.

``requirements.txt`` (pip) and a ``pyproject.toml`` fragment for uv pin the
exact version of every package the lock's ``environment.packages`` lists,
name the Python version, and give an ``exclude-newer`` date (the day after
the lock's run started) for resolvers that take one, so that a package the
lock does not list resolves as it could have on that day.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from .errors import LockFileError

#: never pinned: they are the installer's own tools, present in every venv
TOOLING = frozenset({"pip", "setuptools", "wheel", "distribute"})
_NAME = re.compile(r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$")
_VERSION = re.compile(r"^[A-Za-z0-9.+!_-]+$")


def pins(lock: dict[str, Any]) -> dict[str, str]:
    """``name -> version`` of every package the lock recorded (installer tools left out).

    Raises :class:`LockFileError` when the lock recorded no packages.
    """
    env = lock.get("environment") or {}
    packages = env.get("packages") if isinstance(env, dict) else None
    if not isinstance(packages, dict) or not packages:
        raise LockFileError("the lock records no packages in its environment section (nothing to pin)")
    out = {}
    for name, version in sorted(packages.items()):
        if name in TOOLING or not isinstance(version, str):
            continue
        if not _NAME.match(name) or not _VERSION.match(version):
            continue  # a malformed entry cannot be a requirement line; never write it
        out[name] = version
    return out


def python_version(lock: dict[str, Any]) -> str | None:
    """The Python version the lock ran on (``3.11.7``), if recorded."""
    python = (lock.get("environment") or {}).get("python")
    version = python.get("version") if isinstance(python, dict) else python
    return version if isinstance(version, str) and re.match(r"^\d+\.\d+(\.\d+)?", version) else None


def exclude_newer(lock: dict[str, Any]) -> str | None:
    """The day after the run started (RFC 3339, UTC), if the lock says when it ran."""
    started = (lock.get("run") or {}).get("started")
    if not isinstance(started, str):
        return None
    try:
        when = _dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
    except ValueError:
        return None
    day = (when.astimezone(_dt.timezone.utc) if when.tzinfo else when).date() + _dt.timedelta(days=1)
    return f"{day.isoformat()}T00:00:00Z"


def requirements_text(lock: dict[str, Any], *, exclude: frozenset[str] = frozenset()) -> str:
    """A pip requirements file pinning the lock's packages (``pip install -r``)."""
    lines = ["# the environment recorded by the lock " + str(lock.get("identity", "?"))]
    py = python_version(lock)
    if py:
        lines.append(f"# python {py}")
    date = exclude_newer(lock)
    if date:
        lines.append(f"# exclude-newer {date} (uv pip install --exclude-newer {date} -r requirements.txt)")
    lines += [f"{name}=={version}" for name, version in pins(lock).items() if name not in exclude]
    return "\n".join(lines) + "\n"


def uv_text(lock: dict[str, Any], *, exclude: frozenset[str] = frozenset(), name: str = "notelock-replay") -> str:
    """A ``pyproject.toml`` for ``uv sync``: exact pins, ``requires-python``, ``exclude-newer``."""
    py = python_version(lock)
    lines = ["[project]", f'name = "{name}"', 'version = "0"']
    if py:
        lines.append(f'requires-python = "=={py}"')
    lines.append("dependencies = [")
    lines += [f'    "{n}=={v}",' for n, v in pins(lock).items() if n not in exclude]
    lines.append("]")
    date = exclude_newer(lock)
    if date:
        lines += ["", "[tool.uv]", f'exclude-newer = "{date}"']
    return "\n".join(lines) + "\n"


def installed_differences(lock: dict[str, Any], installed: dict[str, str]) -> list[str]:
    """Lines naming each pinned package missing from, or at another version in, *installed*."""
    out = []
    for name, version in pins(lock).items():
        have = installed.get(name)
        if have is None:
            out.append(f"{name} {version} not installed")
        elif have != version:
            out.append(f"{name} {version} → {have}")
    return out


__all__ = ["pins", "python_version", "exclude_newer", "requirements_text", "uv_text", "installed_differences"]
