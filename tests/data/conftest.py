"""A real PostgreSQL server for the data-stack tests.

Debian's server binaries (``/usr/lib/postgresql/*/bin``, installed by
``.ci/run``) run ``initdb`` and ``pg_ctl`` in a temporary folder, listening on
a free loopback port with password authentication. PostgreSQL refuses to run
as root, so as root the server runs as the ``postgres`` user the package
creates (or ``nobody``). Skipped, with the reason, only when not root and no
binaries are installed; under CI the binaries must be there.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from data.helpers import DATABASE, PASSWORD, USER


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runner() -> tuple[list[str], int | None, int | None]:
    """The command prefix to run the server's binaries, and the uid/gid they run as."""
    if os.geteuid() != 0:
        return [], None, None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], entry.pw_uid, entry.pw_gid
    pytest.fail("running as root with neither a postgres nor a nobody user to run PostgreSQL as")


@pytest.fixture(scope="session")
def postgres() -> Iterator[dict]:
    """A running server: ``{"host", "port", "user", "password", "database", "url"}``."""
    bindir = _bindir()
    if bindir is None:
        if os.geteuid() != 0 and not os.environ.get("CI"):
            pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql; .ci/run does)")
        pytest.fail("PostgreSQL server binaries missing: .ci/run installs Debian's postgresql package")
    prefix, uid, gid = _runner()
    root = Path(tempfile.mkdtemp(prefix="notelock-pg-"))
    data, sockets, pwfile = root / "data", root / "sockets", root / "pw"
    sockets.mkdir()
    pwfile.write_text(PASSWORD + "\n")
    if uid is not None:
        for path in (root, sockets, pwfile):
            os.chown(path, uid, gid)
    port = _free_port()

    def as_server(*cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=120)

    done = as_server(str(bindir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}",
                     "-A", "scram-sha-256", "-E", "UTF8", "--no-instructions")
    assert done.returncode == 0, done.stdout + done.stderr
    started = as_server(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60",
                        "-o", f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    assert started.returncode == 0, started.stdout + started.stderr + (root / "log").read_text()
    try:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, dbname="postgres",
                             autocommit=True) as con:
            con.execute(f"CREATE DATABASE {DATABASE}")
        yield {"host": "127.0.0.1", "port": port, "user": USER, "password": PASSWORD, "database": DATABASE,
               "url": f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}"}
    finally:
        as_server(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
