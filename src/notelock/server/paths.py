"""Resolve request paths inside the server's root directory.

Every path a client sends is relative to the Jupyter root (the same paths the
contents API uses). A path that is absolute, climbs out with ``..`` or reaches
outside the root through a symlink is refused before anything is read, so the
server never hands out a file the contents API would not.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from tornado.web import HTTPError


def resolve(root_dir: str, api_path: str | None) -> Path:
    """The real path of *api_path* inside *root_dir*, or an HTTP error.

    400 when the parameter is missing, 403 when it leads outside the root.
    Existence is not checked here: callers answer 404 in their own words.
    """
    if not api_path:
        raise HTTPError(400, "missing the 'path' parameter")
    if "\x00" in api_path or "\\" in api_path:
        raise HTTPError(403, "path is outside the server root")
    pure = PurePosixPath(api_path)
    # Refuse absolute paths and any ".." outright rather than normalising them
    # away: a client that sends them is not using the contents API's paths.
    if pure.is_absolute() or ".." in pure.parts or api_path.startswith("~"):
        raise HTTPError(403, "path is outside the server root")
    root = Path(os.path.realpath(root_dir))
    target = Path(os.path.realpath(root.joinpath(*pure.parts)))
    if target != root and root not in target.parents:
        raise HTTPError(403, "path is outside the server root")
    return target


def to_api_path(root_dir: str, path: Path) -> str:
    """*path* (inside *root_dir*) as a root-relative, ``/``-separated API path."""
    root = Path(os.path.realpath(root_dir))
    return PurePosixPath(*Path(path).relative_to(root).parts).as_posix()
