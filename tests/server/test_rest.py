"""The REST API under /notelock/, against a real jupyter_server (pytest-jupyter)."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from rest_helpers import body, make_lock, write_notebook
from tornado.httpclient import HTTPClientError

from notelock.core import lockfile

NO_AUTH = {"Authorization": ""}


async def fetch_error(jp_fetch, *parts, **kwargs):
    """The HTTP error a request must fail with (status, parsed JSON body)."""
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*parts, **kwargs)
    err = info.value
    return err.code, json.loads(err.response.body.decode("utf-8"))


def assert_clean_error(reply: dict) -> None:
    """Errors carry one readable line and nothing a client should not see."""
    assert set(reply) == {"message"}
    assert reply["message"] and "\n" not in reply["message"]
    assert "Traceback" not in reply["message"]


# ------------------------------------------------------------------ lock


async def test_lock_is_up_to_date_against_the_saved_notebook(jp_fetch, locked_notebook):
    reply = body(await jp_fetch("notelock", "lock", params={"path": "sub/nb.ipynb"}))
    assert reply["status"] == "up to date"
    assert reply["path"] == "sub/nb.ipynb"
    assert reply["lock_path"] == "sub/nb.lock.json"
    assert reply["lock"] == lockfile.load_lock(locked_notebook.with_name("nb.lock.json"))
    assert reply["checksum"] == reply["lock"]["workflow"]["checksum"]


async def test_lock_is_stale_once_the_notebook_changes(jp_fetch, locked_notebook):
    write_notebook(locked_notebook, source="x = 2")
    reply = body(await jp_fetch("notelock", "lock", params={"path": "sub/nb.ipynb"}))
    assert reply["status"] == "stale"
    assert reply["checksum"] != reply["lock"]["workflow"]["checksum"]


async def test_missing_lock_is_a_status_not_an_error(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "fresh.ipynb")
    reply = body(await jp_fetch("notelock", "lock", params={"path": "fresh.ipynb"}))
    assert reply["status"] == "missing"
    assert reply["lock"] is None
    assert reply["lock_path"] == "fresh.lock.json"


async def test_missing_notebook_is_404(jp_fetch):
    code, reply = await fetch_error(jp_fetch, "notelock", "lock", params={"path": "nope.ipynb"})
    assert code == 404
    assert_clean_error(reply)
    assert "nope.ipynb" in reply["message"]


async def test_lock_needs_a_path_to_a_notebook(jp_fetch):
    code, reply = await fetch_error(jp_fetch, "notelock", "lock")
    assert code == 400 and "path" in reply["message"]
    code, reply = await fetch_error(jp_fetch, "notelock", "lock", params={"path": "data.csv"})
    assert code == 400
    assert_clean_error(reply)


@pytest.mark.parametrize(
    "content, expected",
    [
        (b'{"notelock": 1, "cells": [', "invalid JSON"),
        (b'{"notelock": 7, "cells": [], "nodes": {}}', "format version 7"),
        (b"\xff\xfe not text", "UTF-8"),
    ],
)
async def test_corrupt_lock_is_a_clear_4xx(jp_fetch, jp_root_dir, content, expected):
    write_notebook(jp_root_dir / "bad.ipynb")
    (jp_root_dir / "bad.lock.json").write_bytes(content)
    for route in ("lock", "export"):
        code, reply = await fetch_error(jp_fetch, "notelock", route, params={"path": "bad.ipynb"})
        assert code == 422
        assert_clean_error(reply)
        assert "bad.lock.json" in reply["message"] and expected in reply["message"]
        # the server's own directory layout stays private
        assert str(jp_root_dir) not in reply["message"]


# ------------------------------------------------------------------ export


async def test_export_returns_the_bytes_on_disk_as_a_download(jp_fetch, locked_notebook):
    response = await jp_fetch("notelock", "export", params={"path": "sub/nb.ipynb"})
    assert response.body == locked_notebook.with_name("nb.lock.json").read_bytes()
    assert response.headers["Content-Type"].startswith("application/json")
    assert 'attachment; filename="nb.lock.json"' in response.headers["Content-Disposition"]


async def test_export_accepts_the_lock_path_itself(jp_fetch, locked_notebook):
    response = await jp_fetch("notelock", "export", params={"path": "sub/nb.lock.json"})
    assert response.body == locked_notebook.with_name("nb.lock.json").read_bytes()


async def test_export_of_a_missing_lock_is_404(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "fresh.ipynb")
    code, reply = await fetch_error(jp_fetch, "notelock", "export", params={"path": "fresh.ipynb"})
    assert code == 404
    assert reply == {"message": "no lock file: fresh.lock.json"}


# ------------------------------------------------------------------ security


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
async def test_every_route_is_403_without_a_token(jp_fetch, locked_notebook, notelock_jobs, method, route, kwargs):
    ok = await jp_fetch("notelock", "replay", method="GET")  # positive control: with the token it works
    assert ok.code == 200
    code, reply = await fetch_error(jp_fetch, "notelock", route, method=method, headers=NO_AUTH, **kwargs)
    assert code == 403
    assert notelock_jobs.jobs == {}  # nothing was started


async def test_replay_job_route_is_403_without_a_token(jp_fetch, locked_notebook, notelock_jobs):
    job = body(await jp_fetch("notelock", "replay", method="POST", body=json.dumps({"path": "sub/nb.lock.json"})))
    for method in ("GET", "DELETE"):
        code, _ = await fetch_error(jp_fetch, "notelock", "replay", job["id"], method=method, headers=NO_AUTH)
        assert code == 403


@pytest.mark.parametrize(
    "path",
    ["../outside.ipynb", "sub/../../outside.ipynb", "/etc/passwd.ipynb", "~/x.ipynb", "sub\\..\\..\\outside.ipynb"],
)
async def test_paths_outside_the_root_are_refused(jp_fetch, jp_root_dir, path):
    outside = write_notebook(jp_root_dir.parent / "outside.ipynb")
    lockfile.write_lock(outside.with_name("outside.lock.json"), make_lock())
    lock_path = path.replace(".ipynb", ".lock.json")
    requests = [
        ("lock", {"params": {"path": path}}),
        ("export", {"params": {"path": path}}),
        ("export", {"params": {"path": lock_path}}),
        ("diff", {"params": {"a": lock_path, "b": lock_path}}),
        ("replay", {"method": "POST", "body": json.dumps({"path": lock_path})}),
    ]
    for route, kwargs in requests:
        code, reply = await fetch_error(jp_fetch, "notelock", route, **kwargs)
        assert code in (403, 404), (route, code)
        assert_clean_error(reply)


async def test_symlinks_leading_out_of_the_root_are_refused(jp_fetch, jp_root_dir, locked_notebook):
    outside = write_notebook(jp_root_dir.parent / "elsewhere" / "secret.ipynb")
    lockfile.write_lock(outside.with_name("secret.lock.json"), make_lock())
    os.symlink(outside.parent, jp_root_dir / "link")
    os.symlink(outside.with_name("secret.lock.json"), jp_root_dir / "sub" / "leak.lock.json")
    for route, params in [
        ("lock", {"path": "link/secret.ipynb"}),
        ("export", {"path": "link/secret.ipynb"}),
        ("export", {"path": "sub/leak.lock.json"}),
        ("diff", {"a": "sub/nb.lock.json", "b": "sub/leak.lock.json"}),
    ]:
        code, reply = await fetch_error(jp_fetch, "notelock", route, params=params)
        assert code == 403, (route, params)
        assert reply == {"message": "path is outside the server root"}


async def test_symlinks_inside_the_root_are_followed(jp_fetch, jp_root_dir, locked_notebook):
    os.symlink(locked_notebook.parent, jp_root_dir / "alias")
    response = await jp_fetch("notelock", "export", params={"path": "alias/nb.lock.json"})
    assert response.body == locked_notebook.with_name("nb.lock.json").read_bytes()


async def test_cookie_authenticated_post_needs_the_xsrf_token(jp_fetch, jp_serverapp, locked_notebook, notelock_jobs):
    # Log in the way a browser does (token in the URL sets the login cookie).
    token = jp_serverapp.identity_provider.token
    login = await jp_fetch("api", "contents", headers=NO_AUTH, params={"token": token})
    cookies = [c.split(";", 1)[0] for c in login.headers.get_list("Set-Cookie")]
    assert any(c.startswith("username-") for c in cookies)
    cookie = "; ".join(cookies)
    payload = json.dumps({"path": "sub/nb.lock.json"})
    # a cookie alone is not enough for a request that runs code ...
    code, reply = await fetch_error(
        jp_fetch, "notelock", "replay", method="POST", body=payload, headers={**NO_AUTH, "Cookie": cookie}
    )
    assert code == 403 and "xsrf" in reply["message"].lower()
    assert notelock_jobs.jobs == {}
    # ... with the XSRF cookie echoed in the header, as JupyterLab sends it, it works
    xsrf = "abc123xyz"
    response = await jp_fetch(
        "notelock", "replay", method="POST", body=payload,
        headers={**NO_AUTH, "Cookie": f"{cookie}; _xsrf={xsrf}", "X-XSRFToken": xsrf},
    )
    assert response.code == 202


# ------------------------------------------------------------------ diff


async def test_diff_returns_the_semantic_diff(jp_fetch, locked_notebook, jp_root_dir):
    from notelock.core.diff import diff_locks

    other = make_lock()
    lockfile.write_lock(jp_root_dir / "other.lock.json", other)
    reply = body(await jp_fetch("notelock", "diff", params={"a": "sub/nb.lock.json", "b": "other.lock.json"}))
    assert reply["a"] == "sub/nb.lock.json" and reply["b"] == "other.lock.json"
    a = lockfile.load_lock(locked_notebook.with_name("nb.lock.json"))
    assert reply["diff"] == json.loads(json.dumps(diff_locks(a, lockfile.load_lock(jp_root_dir / "other.lock.json"))))


async def test_diff_parameters_must_name_existing_lock_files(jp_fetch, locked_notebook):
    code, reply = await fetch_error(jp_fetch, "notelock", "diff", params={"a": "sub/nb.lock.json"})
    assert code == 400 and "'b'" in reply["message"]
    code, reply = await fetch_error(jp_fetch, "notelock", "diff", params={"a": "sub/nb.ipynb", "b": "sub/nb.lock.json"})
    assert code == 400
    code, reply = await fetch_error(jp_fetch, "notelock", "diff", params={"a": "sub/nb.lock.json", "b": "gone.lock.json"})
    assert code == 404 and reply == {"message": "no lock file: gone.lock.json"}


# ------------------------------------------------------------------ replay


async def start_replay(jp_fetch, path="sub/nb.lock.json") -> dict:
    response = await jp_fetch("notelock", "replay", method="POST", body=json.dumps({"path": path}))
    assert response.code == 202
    job = body(response)
    assert response.headers["Location"].endswith("/notelock/replay/" + job["id"])
    return job


async def wait_for_job(jp_fetch, job_id: str, timeout: float = 30) -> dict:
    """Follow a job with long polls until it finishes."""
    events = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        job = body(await jp_fetch("notelock", "replay", job_id, params={"after": events, "wait": 5}))
        if job["status"] != "running":
            return job
        events = job["events"]
    raise AssertionError(f"replay job {job_id} still running after {timeout}s")


async def test_replay_runs_in_the_background_and_reports_each_node(jp_fetch, locked_notebook, notelock_jobs):
    job = await start_replay(jp_fetch)
    assert job["status"] == "running" and job["path"] == "sub/nb.lock.json"
    done = await wait_for_job(jp_fetch, job["id"])
    lock = lockfile.load_lock(locked_notebook.with_name("nb.lock.json"))
    assert done["status"] == "done" and done["result"] == "reproduced" and done["exit_code"] == 0
    assert done["progress"] == {"done": len(lock["nodes"]), "total": len(lock["nodes"])}
    assert [v["id"] for v in done["verdicts"]] == list(lock["nodes"])
    assert {v["verdict"] for v in done["verdicts"]} == {"reproduced"}
    assert done["messages"] == ["fake replay in sub"]  # ran beside the lock file
    listed = body(await jp_fetch("notelock", "replay"))["jobs"]
    assert [j["id"] for j in listed] == [job["id"]]


async def test_replay_reports_a_divergence(jp_fetch, locked_notebook, notelock_jobs):
    lock = lockfile.load_lock(locked_notebook.with_name("nb.lock.json"))
    fit = next(nid for nid in lock["nodes"] if nid.startswith("@fit_"))
    locked_notebook.with_name("nb.lock.json.fake.json").write_text(json.dumps({"verdicts": {fit: "DIVERGED"}}))
    done = await wait_for_job(jp_fetch, (await start_replay(jp_fetch))["id"])
    assert done["result"] == "diverged" and done["exit_code"] == 1
    assert [v["verdict"] for v in done["verdicts"] if v["id"] == fit] == ["DIVERGED"]
    assert done["summary"] == {"nodes": 2, "diverged": 1}


async def test_a_crashing_replay_command_fails_the_job(jp_fetch, locked_notebook, notelock_jobs):
    locked_notebook.with_name("nb.lock.json.fake.json").write_text(json.dumps({"crash": True}))
    done = await wait_for_job(jp_fetch, (await start_replay(jp_fetch))["id"])
    assert done["status"] == "failed" and done["result"] is None
    assert done["error"] == "the replay command exited with status 3"
    assert "boom" in done["stderr"]


async def test_a_replay_can_be_cancelled_and_its_process_dies(jp_fetch, locked_notebook, notelock_jobs):
    locked_notebook.with_name("nb.lock.json.fake.json").write_text(json.dumps({"sleep": 30}))
    job = await start_replay(jp_fetch)
    proc = notelock_jobs.jobs[job["id"]].process
    cancelled = body(await jp_fetch("notelock", "replay", job["id"], method="DELETE"))
    assert cancelled["status"] == "cancelled"
    await asyncio.wait_for(proc.wait(), timeout=10)
    assert proc.returncode is not None
    assert (await wait_for_job(jp_fetch, job["id"]))["status"] == "cancelled"


async def test_server_shutdown_kills_running_replays(jp_fetch, locked_notebook, notelock_jobs):
    locked_notebook.with_name("nb.lock.json.fake.json").write_text(json.dumps({"sleep": 30}))
    job = await start_replay(jp_fetch)
    proc = notelock_jobs.jobs[job["id"]].process
    notelock_jobs.shutdown()
    await asyncio.wait_for(proc.wait(), timeout=10)
    assert notelock_jobs.jobs[job["id"]].status == "cancelled"


async def test_replay_refuses_bad_requests_before_running_anything(jp_fetch, jp_root_dir, locked_notebook, notelock_jobs):
    (jp_root_dir / "bad.lock.json").write_text('{"notelock": 1, "cells": [')
    cases = [
        ("not json", 400),
        (json.dumps({"lock": "x"}), 400),
        (json.dumps({"path": "gone.lock.json"}), 404),
        (json.dumps({"path": "bad.lock.json"}), 422),
        (json.dumps({"path": "../x.lock.json"}), 403),
    ]
    for payload, expected in cases:
        code, reply = await fetch_error(jp_fetch, "notelock", "replay", method="POST", body=payload)
        assert code == expected, payload
        assert_clean_error(reply)
    assert notelock_jobs.jobs == {}


async def test_unknown_replay_job_is_404(jp_fetch):
    code, reply = await fetch_error(jp_fetch, "notelock", "replay", "0" * 32)
    assert code == 404
    assert_clean_error(reply)


async def test_finished_jobs_are_forgotten_after_the_retention_period(jp_fetch, locked_notebook, notelock_jobs):
    done = await wait_for_job(jp_fetch, (await start_replay(jp_fetch))["id"])
    notelock_jobs.retention_s = 0
    notelock_jobs.jobs[done["id"]].finished -= 1
    code, _ = await fetch_error(jp_fetch, "notelock", "replay", done["id"])
    assert code == 404


async def test_unexpected_errors_do_not_leak_a_traceback(jp_fetch, locked_notebook, monkeypatch):
    from notelock.server import handlers

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/x")

    monkeypatch.setattr(handlers, "notebook_status", broken)
    code, reply = await fetch_error(jp_fetch, "notelock", "lock", params={"path": "sub/nb.ipynb"})
    assert code == 500
    assert_clean_error(reply)
    assert "secret" not in reply["message"]


async def test_simultaneous_replay_requests_never_exceed_the_limit(jp_fetch, locked_notebook, notelock_jobs):
    locked_notebook.with_name("nb.lock.json.fake.json").write_text(json.dumps({"sleep": 30}))
    limit = notelock_jobs.max_running

    async def post():
        try:
            response = await jp_fetch("notelock", "replay", method="POST", body=json.dumps({"path": "sub/nb.lock.json"}))
        except HTTPClientError as err:
            return err.code
        return response.code

    codes = await asyncio.gather(*(post() for _ in range(12)))
    assert sorted(codes) == [202] * limit + [429] * (12 - limit)
    assert notelock_jobs.running() == limit
