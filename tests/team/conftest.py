"""A real S3-compatible server on loopback for the team-store tests.

moto's standalone server runs as its own process (``python -m moto.server``)
and is reached over HTTP by s3fs, exactly as real S3 would be: the
endpoint comes from ``AWS_ENDPOINT_URL`` and the credentials from the
environment, where s3fs looks for them. Every bucket has versioning on.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from s3_utils import SECRET, S3Server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=2)
            break
        except Exception:  # noqa: BLE001 - not up yet
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"moto server did not start: {log.read_text()[-500:]}") from None
            time.sleep(0.2)
    env = {"AWS_ACCESS_KEY_ID": "nl-test-key", "AWS_SECRET_ACCESS_KEY": SECRET,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield S3Server(endpoint, env)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return s3_server.bucket()


@dataclass
class Machine:
    """One "machine": its own HOME (so its own local store tier) and working folder."""

    home: Path
    work: Path
    env: dict[str, str]


@pytest.fixture
def machines(tmp_path: Path, s3_server: S3Server):
    def make(name: str, **extra: str) -> Machine:
        home, work = tmp_path / name / "home", tmp_path / name / "work"
        home.mkdir(parents=True)
        work.mkdir(parents=True)
        env = {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"), **s3_server.env, **extra}
        return Machine(home, work, env)
    return make
