"""The route table and docs/rest.md name the same routes and methods."""

from __future__ import annotations

import re
from pathlib import Path

from notelock.server.handlers import ROUTES

DOC = Path(__file__).resolve().parents[2] / "docs" / "rest.md"
METHODS = ("get", "post", "put", "patch", "delete")


def documented() -> set[tuple[str, str]]:
    found = re.findall(r"^### `(GET|POST|PUT|PATCH|DELETE) (/notelock/[^`]*)`", DOC.read_text(), re.M)
    return {(method, path) for method, path in found}


def served() -> set[tuple[str, str]]:
    routes = set()
    for pattern, handler in ROUTES:
        path = "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", pattern).replace("<job_id>", "<job>")
        for method in METHODS:
            if method in vars(handler):
                routes.add((method.upper(), path))
    return routes


def test_every_route_is_documented_and_every_documented_route_exists():
    assert len(served()) >= 6  # positive control: the table was read
    assert documented() == served()


def test_every_handler_method_is_authenticated_and_authorized():
    import inspect

    for _, handler in ROUTES:
        for method in METHODS:
            func = vars(handler).get(method)
            if func is None:
                continue
            source = inspect.getsource(func)
            assert "@web.authenticated" in source and "@authorized" in source, (handler.__name__, method)
