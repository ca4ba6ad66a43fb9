"""Secrets never reach a lock file: name rule, redaction, scrubbing."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from notelock.core.environment import EnvironmentCapture
from notelock.core.secrets import (
    REDACTED,
    env_marker,
    is_secret_key,
    is_secret_variable,
    redact_data,
    redact_options,
    redact_source,
    redact_text,
    redact_url,
    restore_markers,
    secret_variables,
    unresolvable_markers,
)
from notelock.core.workflow import WorkflowTracker


@pytest.mark.parametrize(
    "name",
    ["GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "PGPASSWORD", "api_key", "MY_PASSWD", "GOOGLE_APPLICATION_CREDENTIALS",
     "HTTP_AUTHORIZATION", "JUPYTERHUB_API_TOKEN", "cookie", "PWD", "sig", "X-Amz-Signature", "MYSQL_PWD", "DB_PASS",
     "API_PW", "STRIPE_SK", "PASSPHRASE", "clientSecret", "AccountKey", "Authorization"],
)
def test_secret_keys(name):
    assert is_secret_key(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "LANG", "PYTHONHASHSEED", "OMP_NUM_THREADS", "user", "host", "TZ",
                                  "PIP_KEYRING_PROVIDER", "TOKEN_FILE", "SSH_KEY_PATH", "AUTH_ENABLED", "SESSION_ID",
                                  "keyring", "monkey"])
def test_ordinary_keys(name):
    assert not is_secret_key(name)


@pytest.mark.parametrize("name", ["PWD", "OLDPWD", "JPY_SESSION_NAME", "SSH_AUTH_SOCK", "PIP_KEYRING_PROVIDER",
                                  "XDG_SESSION_TYPE", "GIT_ASKPASS"])
def test_environment_variables_that_are_not_secrets(name):
    assert not is_secret_variable(name)


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


def test_secret_variables():
    env = {
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "GITHUB_TOKEN": "ghp_0123456789abcdef",
        "DATABASE_URL": "postgresql://u:hunter2@h/db",
        "REDIS_URL": "redis://:p%40ssw0rd@cache:6379/0",
        "DSN": "postgresql://u:pa/ss#word@h/db",
        "MSSQL": "Server=h;UID=u;PWD={pa;ss!};",
        "PATH": "/usr/bin",
        "SHORT_KEY": "ab",
        "AUTH_ENABLED": "true",
        "PWD": "/home/u/project",
        "JPY_SESSION_NAME": "/home/u/project/fraud.ipynb",
        "PIP_KEYRING_PROVIDER": "import",
        "DB_PASSWORD": "secret",  # a dictionary word: only removed where it stands (a DSN, password=…)
    }
    found = secret_variables(env)
    assert {"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "ghp_0123456789abcdef", "hunter2", "p@ssw0rd", "pa/ss#word",
            "pa;ss!"} <= set(found)
    assert found["hunter2"] == "DATABASE_URL" and found["pa/ss#word"] == "DSN"
    for harmless in ("/usr/bin", "ab", "true", "user", "/home/u/project", "/home/u/project/fraud.ipynb", "import",
                     "secret"):
        assert harmless not in found


ENV = {"GITHUB_TOKEN": "ghp_notreal0123456789abcdefXYZ", "PWD": "/home/u/proj", "PIP_KEYRING_PROVIDER": "import",
       "DSN": "postgresql://u:pa/ss#1@h/db", "DB_PASS": "hunter2!"}


def test_sources_keep_everything_but_credentials():
    src = ("import os\nfrom pathlib import Path\ntok = 'ghp_notreal0123456789abcdefXYZ'\npassword = 'abc12345'\n"
           "con = connect(os.environ['DSN'])\nprint('/home/u/proj')\nx = 'hunter2!'\n"
           "headers = {'Authorization': 'Bearer abcdefghijklmnopqrstuv'}")
    out, literal = redact_source(src, ENV)
    assert literal
    assert "import os" in out and "'/home/u/proj'" in out and "os.environ['DSN']" in out
    assert "tok = '⟨env:GITHUB_TOKEN⟩'" in out and "x = '⟨env:DB_PASS⟩'" in out
    assert f"password = '{REDACTED}'" in out and "abcdefghijklmnop" not in out
    assert restore_markers(out, ENV).startswith(src.split("password")[0])
    assert unresolvable_markers(out, {}) == ["DB_PASS", "GITHUB_TOKEN", REDACTED]
    plain = "df = pd.read_csv('data.csv')\nmodel.fit(df)"
    assert redact_source(plain, ENV) == (plain, False)
    # a scheme with the token from the environment is not itself a credential
    built = "headers = {'Authorization': 'Bearer ' + os.environ['API_TOKEN'], \"authorization\": \"Basic \" + b64}"
    assert redact_source(built, ENV) == (built, False)


def test_sql_literals():
    out, literal = redact_source("SELECT * FROM users WHERE api_key = 'k3y-12345' AND name = 'bob'", ENV)
    assert literal and "k3y-12345" not in out and "'bob'" in out


def test_options_and_headers():
    options = {"storage_options": {"Authorization": "Bearer abc", "region": "eu", "token": "ghp_notreal0123456789abcdefXYZ"},
               "sep": ",", "key": None}
    out = redact_options(options, ENV)
    assert out == {"storage_options": {"Authorization": REDACTED, "region": "eu",
                                       "token": env_marker("GITHUB_TOKEN")}, "sep": ",", "key": None}


def test_messages():
    text = redact_text("failed: postgresql://u:pa/ss#1@h/db with hunter2! (Bearer abcdefghijklmnop) in /home/u/proj", ENV)
    assert "pa/ss#1" not in text and "hunter2!" not in text and "abcdefghijklmnop" not in text
    assert "/home/u/proj" in text


def test_redact_data_is_a_copy_and_leaves_ordinary_values():
    data = {"a": ["hunter2!", {"k": "ghp_notreal0123456789abcdefXYZ-x", "n": 2.5}], "p": "/home/u/proj", "w": "import"}
    out = redact_data(data, ENV)
    assert out == {"a": ["⟨env:DB_PASS⟩", {"k": "⟨env:GITHUB_TOKEN⟩-x", "n": 2.5}], "p": "/home/u/proj", "w": "import"}
    assert data["a"][0] == "hunter2!"


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
    text = json.dumps(redact_data(sections), ensure_ascii=False)
    for value in (*SECRET_ENV.values(), "hunter2"):
        assert value not in text
    if shutil.which("git"):
        assert "github.com/o/r" in text


def test_credentials_inside_string_literals_of_a_cell():
    src = ('engine = create_engine("postgresql://analyst:pa/ss#w0rd@db.example.org:5432/wh")\n'
           'con = psycopg.connect("host=db dbname=wh user=analyst password=s3cret-pw")\n'
           "duckdb.sql(\"CREATE SECRET (TYPE s3, KEY_ID 'id', SECRET 'wJalrXUtnFEMIK7MDENG')\")\n"
           'odbc = "Driver={x};Server=s;UID=u;PWD={p;w0rd};"\n'
           'url = f"postgresql://{user}:{pw}@h/db"\n'
           "f(password=pw, dsn='host=h')\nprint('***', 'user@example.org')\n")
    out, literal = redact_source(src, {})
    assert literal
    for secret in ("pa/ss#w0rd", "s3cret-pw", "wJalrXUtnFEMIK7MDENG", "{p;w0rd}"):
        assert secret not in out
    assert f'"postgresql://analyst:{REDACTED}@db.example.org:5432/wh"' in out
    assert f'password={REDACTED}")' in out  # the literal still ends where it did
    # code and f-string fields are code, never values
    assert 'f"postgresql://{user}:{pw}@h/db"' in out and "f(password=pw, dsn='host=h')" in out
    assert "print('***', 'user@example.org')" in out
    compile(out.replace(REDACTED, "x"), "<cell>", "exec")
