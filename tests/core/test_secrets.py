"""Secrets never reach a lock file: name rule, redaction, scrubbing."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from notelock.core.environment import EnvironmentCapture
from notelock.core.secrets import is_secret_name, redact_url, scrub, scrub_data, secret_values
from notelock.core.workflow import WorkflowTracker


@pytest.mark.parametrize(
    "name",
    ["GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "PGPASSWORD", "api_key", "MY_PASSWD", "GOOGLE_APPLICATION_CREDENTIALS",
     "HTTP_AUTHORIZATION", "JUPYTERHUB_API_TOKEN", "SESSION_ID", "cookie", "PWD", "sig", "X-Amz-Signature"],
)
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "LANG", "PYTHONHASHSEED", "OMP_NUM_THREADS", "user", "host", "TZ"])
def test_ordinary_names(name):
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:hunter2@h/db", "postgresql://u:***@h/db"),
        ("postgresql+psycopg://u:pw@h:5432/db?sslmode=require", "postgresql+psycopg://u:***@h:5432/db?sslmode=require"),
        ("mysql://u:p@ss:w0rd@h", "mysql://u:***@h"),
        ("mssql+pyodbc://sa:S3cret!@srv/db?driver=ODBC+Driver+18", "mssql+pyodbc://sa:***@srv/db?driver=ODBC+Driver+18"),
        ("https://ghp_abcdefghijklmnop1234@github.com/o/r", "https://***@github.com/o/r"),
        ("https://h/x?a=1&password=p1&token=t2#frag", "https://h/x?a=1&password=***&token=***#frag"),
        ("https://acct.blob.core.windows.net/c?sv=2024&sig=abc%2Fdef", "https://acct.blob.core.windows.net/c?sv=2024&sig=***"),
        (
            "Driver={ODBC Driver 18};Server=h;UID=u;PWD={a;b}};c};Database=d",
            "Driver={ODBC Driver 18};Server=h;UID=u;PWD=***;Database=d",
        ),
        ("Server=h;User Id=u;Password=two words;", "Server=h;User Id=u;Password=***;"),
        (
            "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc==;EndpointSuffix=core.windows.net",
            "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=***;EndpointSuffix=core.windows.net",
        ),
        ("host=h user=u password='a b' dbname=d", "host=h user=u password=*** dbname=d"),
        # Nothing to remove: unchanged.
        ("sqlite:///data/app.db", "sqlite:///data/app.db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("ssh://git@host/x", "ssh://git@host/x"),
        ("https://host/@user/repo", "https://host/@user/repo"),
        ("", ""),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected
    assert redact_url(expected) == expected  # idempotent


def test_redact_url_without_user():
    assert redact_url("https://user:token@host/x", keep_user=False) == "https://host/x"
    assert redact_url("https://ghp_abcdefghijklmnop1234@github.com/o/r", keep_user=False) == "https://github.com/o/r"
    assert redact_url("ssh://git@host/x", keep_user=False) == "ssh://git@host/x"


def test_secret_values():
    env = {
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "GITHUB_TOKEN": "ghp_0123456789abcdef",
        "DATABASE_URL": "postgresql://u:hunter2@h/db",
        "REDIS_URL": "redis://:p%40ssw0rd@cache:6379/0",
        "MSSQL": "Server=h;UID=u;PWD={pa;ss};",
        "PATH": "/usr/bin",
        "SHORT_KEY": "ab",
        "AUTH_ENABLED": "true",
        "XDG_SESSION_CLASS": "user",
        "DESKTOP_SESSION": "ubuntu",
    }
    found = secret_values(env)
    assert {"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "ghp_0123456789abcdef", "hunter2", "p@ssw0rd", "pa;ss"} <= found
    for harmless in ("/usr/bin", "ab", "true", "user", "ubuntu", "u", "h"):
        assert harmless not in found


def test_scrub_and_scrub_data():
    secrets = {"hunter2", "hunter2hunter2", "tok123"}
    assert scrub("pw=hunter2hunter2 and hunter2, tok123", secrets) == "pw=*** and ***, ***"
    assert scrub("nothing here", secrets) == "nothing here"
    assert scrub("x", set()) == "x"
    data = {"a": ["hunter2", {"tok123-key": 1, "n": 2.5, "b": None, "t": True}], "c": ("hunter2",)}
    assert scrub_data(data, secrets) == {"a": ["***", {"***-key": 1, "n": 2.5, "b": None, "t": True}], "c": ["***"]}
    assert data["a"][0] == "hunter2"  # input untouched


SECRET_ENV = {
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "GITHUB_TOKEN": "ghp_notreal0123456789abcdef",
    "DATABASE_URL": "postgresql://u:hunter2@h/db",
}


def test_no_secret_survives_scrubbed_sections(tmp_path, monkeypatch):
    for key, value in SECRET_ENV.items():
        monkeypatch.setenv(key, value)
    # Put secrets where a capture does pick values up: an allowlisted variable
    # (by mistake) and the git remote; the notebook name is ordinary.
    monkeypatch.setenv("TZ", "UTC " + SECRET_ENV["GITHUB_TOKEN"])
    nb = tmp_path / "n.ipynb"
    nb.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n')
    if shutil.which("git"):
        for args in (["init", "-q"], ["remote", "add", "origin", f"https://x:{SECRET_ENV['GITHUB_TOKEN']}@github.com/o/r"]):
            subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)
    sections = {
        "environment": EnvironmentCapture(notebook_dir=tmp_path).get(),
        "workflow": WorkflowTracker(nb).snapshot(["x = 1"]),
        "extra": {"log": f"connected to {SECRET_ENV['DATABASE_URL']} as hunter2"},
    }
    assert SECRET_ENV["GITHUB_TOKEN"] in json.dumps(sections)  # the test does plant secrets
    text = json.dumps(scrub_data(sections, secret_values()))
    for value in (*SECRET_ENV.values(), "hunter2"):
        assert value not in text
    if shutil.which("git"):
        assert "github.com/o/r" in text
