"""The sidebar's Export formats: the pack and the audit report, as downloads,
from a real jupyter_server (pytest-jupyter)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from rest_helpers import make_lock, write_notebook
from tornado.httpclient import HTTPClientError

from notelock.core import lockfile
from notelock.core.hashing import hash_bytes
from notelock.core.workflow import notebook_checksum

NO_AUTH = {"Authorization": ""}


async def fetch_error(jp_fetch, *parts, **kwargs):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*parts, **kwargs)
    reply = json.loads(info.value.response.body.decode("utf-8"))
    assert set(reply) == {"message"} and "\n" not in reply["message"]
    return info.value.code, reply["message"]


async def test_pack_download_is_the_verified_pack(jp_fetch, locked_notebook):
    response = await jp_fetch("notelock", "pack", params={"path": "sub/nb.ipynb"})
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="nb.nlpack"')
    with zipfile.ZipFile(io.BytesIO(response.body)) as zf:
        assert zf.namelist()[0] == "manifest.json"
        manifest = json.loads(zf.read("manifest.json"))
        members = {m["name"]: m for m in manifest["members"]}
        assert set(members) == {"nb.lock.json", "nb.ipynb"}
        assert zf.read("nb.lock.json") == (locked_notebook.with_name("nb.lock.json")).read_bytes()
        for name, entry in members.items():
            assert hash_bytes(zf.read(name)) == entry["hash"]
    again = await jp_fetch("notelock", "pack", params={"path": "sub/nb.lock.json"})
    assert again.body == response.body, "deterministic: the same lock gives the same bytes"


async def test_pack_refuses_missing_pinned_objects_naming_them(jp_fetch, jp_root_dir):
    nb = write_notebook(jp_root_dir / "nb.ipynb")
    lock = make_lock(notebook_checksum(nb))
    read = next(n for n in lock["nodes"].values() if n["op"] == "read")
    read["snapshot"] = "xxh3_128:" + "ab" * 16  # a fact outside the identity: the lock still validates
    lockfile.write_lock(jp_root_dir / "nb.lock.json", lock)
    code, message = await fetch_error(jp_fetch, "notelock", "pack", params={"path": "nb.ipynb"})
    assert code == 409 and "abababababab (missing; snapshot of @read_" in message
    assert str(jp_root_dir) not in message, "the server's layout is not shown"
    response = await jp_fetch("notelock", "pack", params={"path": "nb.ipynb", "snapshots": "0"})
    with zipfile.ZipFile(io.BytesIO(response.body)) as zf:
        assert json.loads(zf.read("manifest.json"))["omitted"] == ["snapshots"]
    code, _ = await fetch_error(jp_fetch, "notelock", "pack", params={"path": "nb.ipynb", "snapshots": "maybe"})
    assert code == 400


async def test_report_download_is_one_escaped_page(jp_fetch, locked_notebook):
    response = await jp_fetch("notelock", "report", params={"path": "sub/nb.ipynb"})
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="nb.report.html"')
    page = response.body.decode("utf-8")
    lock = lockfile.load_lock(locked_notebook.with_name("nb.lock.json"))
    assert page.startswith("<!DOCTYPE html>") and lock["identity"] in page
    assert "<script" not in page and "m.fit(df)" in page
    assert "Offline check (when this report was made)" in page


@pytest.mark.parametrize("route", ["pack", "report"])
async def test_export_errors(jp_fetch, jp_root_dir, route):
    write_notebook(jp_root_dir / "bare.ipynb")
    code, message = await fetch_error(jp_fetch, "notelock", route, params={"path": "bare.ipynb"})
    assert code == 404 and "no lock file: bare.lock.json" in message
    code, _ = await fetch_error(jp_fetch, "notelock", route, params={"path": "../outside.ipynb"})
    assert code in (403, 404)
    (jp_root_dir / "bad.lock.json").write_text('{"notelock": 2, "cells": [')
    code, _ = await fetch_error(jp_fetch, "notelock", route, params={"path": "bad.lock.json"})
    assert code == 422
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("notelock", route, params={"path": "bare.ipynb"}, headers=NO_AUTH)
    assert info.value.code == 403
