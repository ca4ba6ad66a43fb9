"""The secrets scan: plant credentials in every position a user puts them,
run notebooks through real kernels, then read every artifact notelock wrote
(lock, store, history, cache, file locks) and everything its faces answered
(CLI output of show/diff/log/replay, REST responses, a replay job's output)
and grep it all, byte for byte, for every planted value.

Positions: an environment secret sent as an HTTP header through
``storage_options``; a bearer token written in a header literal; a token
format written in a cell; an environment secret's value pasted into a cell
(kept as an ``⟨env:NAME⟩`` marker and put back at replay); a password in a
SQL literal; a password in a SQLite URI held in an environment variable; a
token in the git remote; a cached cell that printed a secret; an exception
at replay whose text carries a token.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from rest_helpers import body

from kernel_utils import outputs_text, run_notebook  # type: ignore[import-not-found]

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

API_KEY = "sk-PLANTEDapikey0123456789abcdefXYZ"
HEADER_TOKEN = "PLANTEDbearer0123456789abcdefghij"
GH_TOKEN = "ghp_PLANTEDgithub0123456789abcdefABCD"
SQL_PASSWORD = "PLANTED-sql-pw-4242"
URI_PASSWORD = "PLANTED-uri-pw-77"
REMOTE_TOKEN = "ghp_PLANTEDremote0123456789abcdefABCD"
PLANTED = (API_KEY, HEADER_TOKEN, GH_TOKEN, SQL_PASSWORD, URI_PASSWORD, REMOTE_TOKEN)
SECRET_ENV = {"NOTELOCK_ALLOW_DIRTY": "1", "SERVICE_API_KEY": API_KEY,
              "WAREHOUSE_DB_URI": f"file:ware.db?mode=ro&password={URI_PASSWORD}"}


class _Handler(http.server.SimpleHTTPRequestHandler):
    seen_headers: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        _Handler.seen_headers.append(str(self.headers))
        super().do_GET()

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def http_root(tmp_path_factory):
    """A real HTTP server on loopback serving one CSV."""
    root = tmp_path_factory.mktemp("http")
    (root / "remote.csv").write_text("a,b\n1,2\n3,4\n")
    handler = lambda *a, **k: _Handler(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def replay_command():
    return [sys.executable, "-m", "notelock", "replay"]


def _notebook(path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "notelock", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=300)
    return f"{args} exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def _artifacts(root: Path) -> dict[str, bytes]:
    """Every file notelock wrote under *root* (the notebooks themselves, which
    hold what the user's own cells printed, and the user's database excluded)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and p.suffix not in (".ipynb", ".db") and ".git" not in p.parts}


async def test_no_planted_secret_in_any_artifact_or_answer(jp_fetch, jp_root_dir: Path, http_root, notelock_jobs,
                                                           monkeypatch):
    root = jp_root_dir
    with sqlite3.connect(root / "ware.db") as con:
        con.execute("CREATE TABLE users (name TEXT, password TEXT)")
        con.execute("INSERT INTO users VALUES ('ann', ?), ('bob', 'x')", (SQL_PASSWORD,))
    for args in (["init", "-q"], ["remote", "add", "origin", f"https://x:{REMOTE_TOKEN}@example.org/o/r.git"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)

    replayable = _notebook(root / "env.ipynb", [
        "%load_ext notelock",
        "%%lock\nimport os, sqlite3\nimport pandas as pd\n"
        "headers = {'Authorization': 'Bearer ' + os.environ['SERVICE_API_KEY'], 'X-Api-Key': os.environ['SERVICE_API_KEY']}\n"
        f"remote = pd.read_csv('{http_root}/remote.csv', storage_options=headers)",
        # the value of an environment secret pasted into code: kept as a marker, replayable
        f"%%lock\npasted = '{API_KEY}'\nsame = pasted == os.environ['SERVICE_API_KEY']",
        "%%lock --snapshot\ncon = sqlite3.connect(os.environ['WAREHOUSE_DB_URI'], uri=True)\n"
        "names = pd.read_sql_query('SELECT name FROM users ORDER BY name', con)\ncon.close()\ndel con",
        "%%lock --cache\nprint('calling the service with', os.environ['SERVICE_API_KEY'])\nsummary = len(remote) + len(names)",
        "%%lock --cache\ndoubled = remote * 2\nprint(doubled.shape)",
        "%%lock\nif os.environ.get('FAIL_AT_REPLAY'):\n"
        "    raise RuntimeError('service refused token ' + os.environ['SERVICE_API_KEY'])\ntotal = summary * 2",
    ])
    literal = _notebook(root / "literal.ipynb", [
        "%load_ext notelock",
        "%%lock\nimport sqlite3\nimport pandas as pd\n"
        f"token = '{GH_TOKEN}'\n"
        f"auth = {{'Authorization': 'Bearer {HEADER_TOKEN}'}}\n"
        "con = sqlite3.connect('ware.db')\n"
        f"users = pd.read_sql_query(\"SELECT name FROM users WHERE password = '{SQL_PASSWORD}'\", con)\n"
        "con.close()\ndel con",
    ])

    for key, value in SECRET_ENV.items():
        monkeypatch.setenv(key, value)
    first = run_notebook(replayable, env=SECRET_ENV)
    run_notebook(replayable, env=SECRET_ENV)  # a second session: history keeps ~1 (and restores the cache)
    refusal = outputs_text(first)
    assert "not cached" in refusal and API_KEY not in refusal.replace("calling the service with " + API_KEY, "")
    run_notebook(literal, env=SECRET_ENV)
    assert any(API_KEY in h for h in _Handler.seen_headers)  # the secret really was sent
    lock = json.loads((root / "env.lock.json").read_text())
    assert any(n.get("op") == "read" and "remote.csv" in json.dumps(n) for n in lock["nodes"].values())

    answers: dict[str, str] = {}
    cli_env = dict(SECRET_ENV)
    for args in (["show", "env.ipynb", "--json"], ["show", "literal.ipynb"], ["log", "env.ipynb"],
                 ["diff", "env.ipynb~1", "env.ipynb"], ["diff", "env.ipynb", "literal.ipynb", "--json"],
                 ["verify", "env.lock.json"], ["replay", "env.lock.json", "--json"],
                 ["replay", "literal.lock.json"]):
        answers[" ".join(args)] = _cli(*args, cwd=root, env=cli_env)
    answers["replay failing"] = _cli("replay", "env.lock.json", cwd=root, env={**cli_env, "FAIL_AT_REPLAY": "1"})
    assert "exit 0" in answers["replay env.lock.json --json"], answers["replay env.lock.json --json"]
    assert "RuntimeError" in answers["replay failing"] and "service refused token" in answers["replay failing"]
    assert "exit 2" in answers["replay literal.lock.json"]  # a cell with a written credential cannot replay

    for name in ("env.ipynb", "literal.ipynb"):
        answers[f"GET lock {name}"] = (await jp_fetch("notelock", "lock", params={"path": name})).body.decode()
    answers["GET diff"] = (await jp_fetch("notelock", "diff", params={"a": "env.lock.json",
                                                                     "b": "literal.lock.json"})).body.decode()
    monkeypatch.setenv("FAIL_AT_REPLAY", "1")
    job = body(await jp_fetch("notelock", "replay", method="POST", body=json.dumps({"path": "env.lock.json"})))
    events, deadline = 0, asyncio.get_running_loop().time() + 300
    while asyncio.get_running_loop().time() < deadline:
        job = body(await jp_fetch("notelock", "replay", job["id"], params={"after": events, "wait": 10},
                                  request_timeout=60))
        if job["status"] != "running":
            break
        events = job["events"]
    assert job["status"] != "running"
    answers["replay job"] = json.dumps(job)

    assert GH_TOKEN.encode() in (root / "literal.ipynb").read_bytes()  # the scan looks for what is there
    artifacts = _artifacts(root)
    assert any(name.startswith(".notelock/objects") for name in artifacts)  # a snapshot
    assert any("cache" in name for name in artifacts)
    found = [(name, value) for name, data in artifacts.items() for value in PLANTED if value.encode() in data]
    found += [(name, value) for name, text in answers.items() for value in PLANTED if value in text]
    scanned = len(artifacts) + len(answers)
    print(f"secrets scan: {len(PLANTED)} planted values, {scanned} artifacts and answers scanned, "
          f"{len(found)} found")
    assert found == []
    # and nothing ordinary was rewritten on the way
    assert "remote.csv" in answers["show env.ipynb --json"] and "ware.db" in answers["show env.ipynb --json"]
