"""Keeping secrets out of lock files.

Two tools: :func:`redact_url` removes credentials from one connection string
(used where a value is recorded on purpose, e.g. a SQL read's connection or a
git remote), and :func:`scrub` / :func:`scrub_data` replace every occurrence of
known secret values (collected by :func:`secret_values` from the environment)
with ``***`` in text or JSON-like data, as a last line of defence before a lock
file is written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from . import canonical

__all__ = [
    "MASK",
    "SECRET_NAME_PARTS",
    "is_secret_name",
    "redact_url",
    "scrub",
    "scrub_data",
    "secret_values",
]

#: What a secret is replaced with.
MASK = "***"

#: A name (environment variable, query parameter, connection-string key) is
#: secret when its upper-cased form contains one of these parts.
SECRET_NAME_PARTS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH", "SESSION", "COOKIE")

# Connection-string keys that hold a secret without containing a part above
# ("PWD=...;" in ODBC, "sig=..." in Azure SAS URLs).
_EXTRA_SECRET_KEYS = frozenset({"PWD", "PASS", "PW", "SIG"})
_EXTRA_SECRET_PARTS = ("SIGNATURE",)

# Variables whose names match SECRET_NAME_PARTS but whose values are ordinary
# words or paths set by desktop sessions and agents. Scrubbing their values
# ("user", "ubuntu", "x11", a socket path) would mangle unrelated text in every
# lock file while protecting nothing.
_NOT_SECRET_NAMES = frozenset(
    {
        "DESKTOP_SESSION",
        "SESSION_MANAGER",
        "DBUS_SESSION_BUS_ADDRESS",
        "SSH_AUTH_SOCK",
        "XAUTHORITY",
        "GPG_AGENT_INFO",
        "KEYTIMEOUT",
        "GNOME_KEYRING_CONTROL",
        "GNOME_KEYRING_PID",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_AUTHOR_DATE",
    }
)
_NOT_SECRET_PREFIXES = ("XDG_SESSION_",)

# Values that are never worth scrubbing even under a secret-looking name:
# replacing every "true" or "none" in a lock file would corrupt it.
_TRIVIAL_VALUES = frozenset({"true", "false", "yes", "no", "none", "null", "user", "unset"})

#: Values shorter than this are ignored by :func:`secret_values`.
MIN_SECRET_LENGTH = 4

# scheme://user:password@host... The password may contain ':' and '@' (the
# greedy match backtracks to the last '@' before the host) but not '/', '?',
# '#' or whitespace, which would end the authority of any well-formed URL.
_URL_USERINFO = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)"
    r"(?P<user>[^\s:/?#@]*)"
    r"(?::(?P<password>[^\s/?#]*))?"
    r"@(?=[^\s@/?#]*(?:[/?#\s\"';]|$))"
)

# ?password=...&token=... (also ';'-separated query strings).
_QUERY_PARAM = re.compile(r"(?P<sep>[?&;])(?P<key>[^=&;#\s/?]+)=(?P<value>[^&;#\s]*)")

# key=value pairs of ODBC/ADO connection strings ("PWD={x;y};", "Password=a b;"):
# ';'-separated, values run to the next ';' unless braced ('}}' escapes a brace).
_KEY_VALUE_ODBC = re.compile(
    r"(?P<pre>^|;)\s*(?P<key>[A-Za-z_][A-Za-z0-9_ .\-]*?)\s*=\s*(?P<value>\{(?:[^}]|\}\})*\}|[^;]*)"
)
# key=value pairs of libpq-style strings ("host=h password=x"): whitespace-separated,
# values may be quoted.
_KEY_VALUE_SPACE = re.compile(
    r"(?P<pre>^|[\s,])(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^;\s,&]*)"
)

# User names that are really tokens: "https://ghp_xxx@github.com/o/r".
_TOKEN_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "gldt-", "xoxb-", "xoxp-", "hf_")


def is_secret_name(name: str) -> bool:
    """True when *name* looks like it holds a secret.

    The rule: the upper-cased name contains one of :data:`SECRET_NAME_PARTS`
    (``GITHUB_TOKEN``, ``AWS_SECRET_ACCESS_KEY``, ``PGPASSWORD``,
    ``api_key``), or is a connection-string key such as ``PWD`` or ``sig``.
    The test is a substring test on purpose: it errs on the side of hiding.
    """
    upper = name.upper()
    if upper in _EXTRA_SECRET_KEYS:
        return True
    return any(part in upper for part in SECRET_NAME_PARTS + _EXTRA_SECRET_PARTS)


def _looks_like_token(user: str) -> bool:
    """True when a URL's user name is really an access token."""
    if user.startswith(_TOKEN_PREFIXES):
        return True
    # Long opaque strings mixing letters and digits are tokens, not user names.
    return (
        len(user) >= 20
        and re.fullmatch(r"[A-Za-z0-9_\-.~]+", user) is not None
        and any(c.isdigit() for c in user)
        and any(c.isalpha() for c in user)
    )


def _strip_quotes(value: str) -> str:
    """The content of a braced or quoted connection-string value."""
    if len(value) >= 2 and value[0] + value[-1] in ("{}", "''", '""'):
        return value[1:-1]
    return value


def redact_url(url: str, keep_user: bool = True) -> str:
    """Remove credentials from a URL or connection string; keep the rest.

    Handles, anywhere inside *url*:

    - ``scheme://user:password@host`` (SQLAlchemy's ``postgresql+psycopg://``
      included): the password becomes ``***``; a user name that is really a
      token (``https://ghp_…@github.com``) becomes ``***`` too;
    - query parameters with secret names (``?password=…&token=…&sig=…``);
    - ``key=value`` connection strings: ODBC/ADO (``PWD=…;``, ``Password=…;``,
      ``AccountKey=…;``) and libpq (``host=h password=…``).

    With ``keep_user=False`` the whole ``user:password@`` part is dropped when
    it holds a credential (``https://user:token@host/x`` → ``https://host/x``),
    which is the form used for git remotes. A user name alone
    (``ssh://git@host/x``) is always kept.
    """
    if not url:
        return url

    def _userinfo(m: re.Match[str]) -> str:
        user, password = m.group("user"), m.group("password")
        if password is None and not _looks_like_token(user):
            return m.group(0)
        if not keep_user:
            return m.group("scheme")
        if password is None:
            return m.group("scheme") + MASK + "@"
        return m.group("scheme") + user + ":" + MASK + "@"

    def _pair(m: re.Match[str]) -> str:
        if not is_secret_name(m.group("key").strip()) or m.group("value") in ("", MASK):
            return m.group(0)
        start, end = m.span("value")
        whole = m.group(0)
        offset = m.start(0)
        return whole[: start - offset] + MASK + whole[end - offset :]

    text = _URL_USERINFO.sub(_userinfo, url)
    # Connection strings before query strings: a braced ODBC value may hold a
    # ';' that the query-string pattern would take for a separator.
    if ";" in text:
        text = _KEY_VALUE_ODBC.sub(_pair, text)
    text = _KEY_VALUE_SPACE.sub(_pair, text)
    return _QUERY_PARAM.sub(_pair, text)


def _secrets_in_text(text: str) -> set[str]:
    """Credentials embedded in one string: URL passwords, token user names,
    secret query parameters and secret connection-string values."""
    found: set[str] = set()
    for m in _URL_USERINFO.finditer(text):
        password = m.group("password")
        if password:
            found.add(password)
            found.add(unquote(password))
        elif _looks_like_token(m.group("user")):
            found.add(m.group("user"))
    for pattern in (_KEY_VALUE_ODBC, _KEY_VALUE_SPACE, _QUERY_PARAM):
        for m in pattern.finditer(text):
            if is_secret_name(m.group("key").strip()):
                value = m.group("value").strip()
                found.update((value, _strip_quotes(value), unquote(value)))
    return found


def _worth_scrubbing(value: str) -> bool:
    """Whether *value* is long and specific enough to replace everywhere."""
    value = value.strip()
    return len(value) >= MIN_SECRET_LENGTH and value.lower() not in _TRIVIAL_VALUES and value != MASK


def secret_values(environ: Mapping[str, str] | None = None) -> set[str]:
    """The secret strings found in an environment (``os.environ`` by default).

    Collects the values of variables whose names look secret (see
    :func:`is_secret_name`; a few desktop-session variables such as
    ``XDG_SESSION_TYPE`` are excepted), and credentials embedded in any
    variable's value: the password of ``scheme://user:password@host`` URLs
    (``DATABASE_URL``), in both encoded and decoded form, and secret
    query/connection-string parameters. Values shorter than four characters or
    trivial words (``true``, ``none``…) are ignored so that scrubbing does not
    mangle unrelated text.
    """
    env = os.environ if environ is None else environ
    found: set[str] = set()
    for name, value in env.items():
        if not isinstance(value, str) or not value:
            continue
        upper = name.upper()
        benign = upper in _NOT_SECRET_NAMES or upper.startswith(_NOT_SECRET_PREFIXES)
        if is_secret_name(name) and not benign:
            found.add(value)
        if "=" in value or "@" in value:
            found |= _secrets_in_text(value)
    return {v for v in found if _worth_scrubbing(v)}


_pattern_cache: dict[frozenset[str], re.Pattern[str]] = {}


def _pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One alternation matching any secret, longest first so that a secret
    containing another is replaced whole."""
    key = frozenset(s for s in secrets if s)
    if not key:
        return None
    pattern = _pattern_cache.get(key)
    if pattern is None:
        ordered = sorted(key, key=lambda s: (-len(s), s))
        pattern = re.compile("|".join(re.escape(s) for s in ordered))
        if len(_pattern_cache) > 32:  # secrets rarely change; keep the cache small anyway
            _pattern_cache.clear()
        _pattern_cache[key] = pattern
    return pattern


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of any of *secrets* in *text* with ``***``."""
    pattern = _pattern(secrets)
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def scrub_data(obj: Any, secrets: Iterable[str]) -> Any:
    """Return a copy of JSON-like *obj* with every secret replaced by ``***``.

    Dict keys and string values are scrubbed, lists and tuples (returned as
    lists) and dicts are walked recursively; numbers, booleans and ``None`` are
    returned unchanged.
    """
    pattern = _pattern(secrets)
    if pattern is None:
        return obj

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(MASK, value)
        if isinstance(value, dict):
            return {walk(k) if isinstance(k, str) else k: walk(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v) for v in value]
        return value

    return walk(obj)


def scrub_lock_text(text: str, data: dict[str, Any]) -> str:
    """Remove every secret value of the environment from lock text.

    The fast path is a substring check; only when a secret occurs is the
    data scrubbed and serialised again (so the result is still valid JSON).
    """
    import json


    found = secret_values()
    if not any(s in text or json.dumps(s, ensure_ascii=False)[1:-1] in text for s in found):
        return text
    return canonical.dumps(scrub_data(data, found))
