"""Handlers ask jupyter_server's authorizer about the "notelock" resource."""

from __future__ import annotations

import json

import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError


class DenyNotelock(Authorizer):
    """Allows everything except notelock's resource."""

    def is_authorized(self, handler, user, action, resource):  # noqa: ANN001
        return resource != "notelock"


@pytest.fixture
def jp_server_config(replay_command):
    return {
        "ServerApp": {"jpserver_extensions": {"notelock": True}, "authorizer_class": DenyNotelock},
        "NotelockExtension": {"replay_command": replay_command},
    }


@pytest.mark.parametrize(
    "method, route, kwargs",
    [
        ("GET", "lock", {"params": {"path": "sub/nb.ipynb"}}),
        ("GET", "export", {"params": {"path": "sub/nb.ipynb"}}),
        ("GET", "diff", {"params": {"a": "sub/nb.lock.json", "b": "sub/nb.lock.json"}}),
        ("POST", "replay", {"body": json.dumps({"path": "sub/nb.lock.json"})}),
        ("GET", "replay", {}),
    ],
)
async def test_an_authenticated_user_without_the_permission_is_refused(
    jp_fetch, locked_notebook, notelock_jobs, method, route, kwargs
):
    # positive control: the same user may use the contents API
    assert (await jp_fetch("api", "contents", "sub")).code == 200
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("notelock", route, method=method, **kwargs)
    assert info.value.code == 403
    assert notelock_jobs.jobs == {}
