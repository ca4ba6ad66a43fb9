"""Kept versions through the REST API: listed as `notelock log` lists them, and diffed before → after."""

from __future__ import annotations

import json

import pytest
from rest_helpers import body, make_lock
from tornado.httpclient import HTTPClientError

from notelock.core import lockfile
from notelock.core.diff import diff_locks
from notelock.core.history import keep_version


@pytest.fixture
def two_versions(locked_notebook):
    """``sub/nb.lock.json`` with C=1.0 kept as ``~1`` and C=0.5 current."""
    lock_file = locked_notebook.with_name("nb.lock.json")
    keep_version(lock_file, lock_file.read_bytes())
    newer = make_lock()
    fit = next(n for n in newer["nodes"] if n.startswith("@fit_"))
    node = dict(newer["nodes"].pop(fit), params={"C": 0.5})
    node["identity"] = lockfile.node_identity(node)
    newer["nodes"][lockfile.node_id("fit", node["identity"])] = node
    newer["cells"][1]["nodes"] = [lockfile.node_id("fit", node["identity"])]
    newer["identity"] = lockfile.lock_identity(newer["cells"])
    lockfile.write_lock(lock_file, newer)
    return lock_file


async def test_versions_are_listed_newest_first_as_log_lists_them(jp_fetch, two_versions):
    reply = body(await jp_fetch("notelock", "versions", params={"path": "sub/nb.ipynb"}))
    assert reply["lock_path"] == "sub/nb.lock.json"
    assert [(v["spec"], v["number"]) for v in reply["versions"]] == [("sub/nb.lock.json", 0), ("sub/nb.lock.json~1", 1)]
    assert reply["versions"][0]["identity"] == lockfile.load_lock(two_versions)["identity"]


async def test_diff_of_the_previous_version_to_now_reads_before_to_after(jp_fetch, two_versions):
    reply = body(await jp_fetch("notelock", "diff", params={"a": "sub/nb.ipynb~1", "b": "sub/nb.lock.json"}))
    assert reply["a"] == "sub/nb.lock.json~1" and reply["b"] == "sub/nb.lock.json"
    old = lockfile.loads_lock(json.dumps(make_lock(reply_checksum(two_versions))))
    expected = json.loads(json.dumps(diff_locks(old, lockfile.load_lock(two_versions))))
    assert reply["diff"] == expected
    assert "C: 1.0 → 0.5" in json.dumps(reply["diff"], ensure_ascii=False)


def reply_checksum(lock_file) -> str:
    from notelock.core.workflow import notebook_checksum

    return notebook_checksum(lock_file.with_name("nb.ipynb"))


async def test_a_version_that_is_not_kept_is_a_clear_4xx(jp_fetch, two_versions):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("notelock", "diff", params={"a": "sub/nb.ipynb~7", "b": "sub/nb.lock.json"})
    assert info.value.code == 422
    message = json.loads(info.value.response.body)["message"]
    assert "nb.lock.json~7" in message and "only 1 kept" in message
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("notelock", "versions", params={"path": "sub/nb.ipynb"}, headers={"Authorization": ""})
    assert info.value.code == 403
