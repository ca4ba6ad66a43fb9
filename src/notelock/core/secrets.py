"""Keeping secrets out of everything notelock writes or says.

Secrets are removed *where they are*, and replaced by a typed marker that
keeps a lock valid and, where possible, replayable:

* ``⟨env:NAME⟩`` stands for the value of the environment variable ``NAME``
  (a secret by the rule of :func:`is_secret_variable`); a replay puts the
  replaying machine's value of ``NAME`` back before it runs the cell;
* ``⟨redacted⟩`` stands for a credential written in a cell's source or a SQL
  text (a token format, ``password="…"``); it cannot be put back, so replay
  refuses such a cell and says why;
* ``***`` stands for the password of a connection string, which is recorded
  as a description only (replay re-runs the code that connects).

Where: connection strings and URLs (:func:`redact_url`), reader and storage
options and HTTP headers (:func:`redact_options`, by key), cell sources and
SQL (:func:`redact_source`), and, as the last line of defence before anything
is written or shown, every string of a lock (:func:`redact_data`) and every
message (:func:`redact_text`). Values that are not secrets — paths, the
notebook's name, common words — are never rewritten: the environment rule is
precise (``PWD`` is a folder, ``JPY_SESSION_NAME`` a notebook path,
``PIP_KEYRING_PROVIDER=import`` an ordinary word), and values are replaced as
whole tokens only.
"""

from __future__ import annotations

import io
import os
import re
import tokenize
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote

__all__ = [
    "MASK",
    "REDACTED",
    "env_marker",
    "is_secret_key",
    "is_secret_variable",
    "redact_data",
    "redact_options",
    "redact_source",
    "redact_text",
    "redact_url",
    "restore_markers",
    "secret_variables",
    "unresolvable_markers",
]

#: What a connection string's password becomes (a description, never replayed).
MASK = "***"
#: A credential found in a source, which cannot be put back.
REDACTED = "⟨redacted⟩"
_ENV_MARKER = re.compile(r"⟨env:([A-Za-z_][A-Za-z0-9_]*)⟩")


def env_marker(name: str) -> str:
    """The marker standing for the environment variable *name*'s value."""
    return f"⟨env:{name}⟩"


# ---------------------------------------------------------------- names

#: A key of a connection string, reader option or HTTP header holds a secret
#: when one of its parts (split at ``_``, ``-``, ``.``, case changes) is one of these.
SECRET_KEY_PARTS = frozenset({
    "TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "PASS", "PWD", "PW", "PASSPHRASE", "APIKEY",
    "KEY", "CREDENTIAL", "CREDENTIALS", "COOKIE", "AUTHORIZATION", "SIG", "SIGNATURE", "SAS", "SK", "PRIVATE",
})
#: ...unless its last part says it names or points to something rather than holding it
_DESCRIPTOR_PARTS = frozenset({
    "FILE", "FILES", "PATH", "DIR", "DIRS", "NAME", "NAMES", "PROVIDER", "PROVIDERS", "TYPE", "MODE", "SOCK",
    "SOCKET", "HOST", "PORT", "USER", "USERNAME", "ENABLED", "DISABLED", "REGION", "BACKEND", "METHOD", "LENGTH",
    "SIZE", "TIMEOUT", "VERSION", "FORMAT", "ID", "ALGORITHM", "URL", "URI", "ENDPOINT", "COUNT", "FIELD",
})
#: environment variables that match by their parts but are not secrets
_NOT_SECRET_VARIABLES = frozenset({
    "PWD", "OLDPWD", "JPY_SESSION_NAME", "SSH_AUTH_SOCK", "GPG_AGENT_INFO", "KEYTIMEOUT", "XAUTHORITY",
    "PIP_KEYRING_PROVIDER", "GIT_ASKPASS", "SSH_ASKPASS", "SUDO_ASKPASS",
})
_PARTS = re.compile(r"[A-Z]+[0-9]*|[0-9]+")


def _parts(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)  # camelCase → camel_Case
    return _PARTS.findall(spaced.upper())


def is_secret_key(key: str) -> bool:
    """Whether a connection-string key, reader option or header holds a secret
    (``password``, ``PWD``, ``api_key``, ``Authorization``, ``AccountKey``,
    ``sig``, ``client_secret``), by its parts, not by substring."""
    parts = _parts(key)
    if not parts or parts[-1] in _DESCRIPTOR_PARTS:
        return False
    if any(p in SECRET_KEY_PARTS for p in parts):
        return True
    joined = "".join(parts)
    return any(word in joined for word in ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY", "PASSPHRASE"))


def is_secret_variable(name: str) -> bool:
    """Whether an environment variable holds a secret: :func:`is_secret_key`
    of its name (``GITHUB_TOKEN``, ``MYSQL_PWD``, ``DB_PASS``, ``API_PW``,
    ``STRIPE_SK``, ``PASSPHRASE``, ``AWS_SECRET_ACCESS_KEY``), except the
    variables that name folders, sessions or helpers (``PWD``,
    ``JPY_SESSION_NAME``, ``SSH_AUTH_SOCK``, ``*_FILE``, ``*_PROVIDER``…)."""
    return name.upper() not in _NOT_SECRET_VARIABLES and not name.upper().startswith("XDG_") and is_secret_key(name)


# ---------------------------------------------------------------- connection strings

# scheme://[user[:password]@]host — the password may hold '/', '#', ':' and
# '@'; the userinfo ends at the last '@' before the query that is followed by
# a host name
_SCHEME = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://")
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-~%]*)(?::\d*)?(?=[/?#\s\"',;)]|$)")

# ?password=...&token=... (also ';'-separated query strings).
_QUERY_PARAM = re.compile(r"(?P<sep>[?&;])(?P<key>[^=&;#\s/?]+)=(?P<value>[^&;#\s]*)")
# key=value pairs of ODBC/ADO connection strings ("PWD={x;y};", "Password=a b;").
_KEY_VALUE_ODBC = re.compile(
    r"(?P<pre>^|;)\s*(?P<key>[A-Za-z_][A-Za-z0-9_ .\-]*?)\s*=\s*(?P<value>\{(?:[^}]|\}\})*\}|[^;]*)"
)
# key=value pairs of libpq-style strings ("host=h password=x").
_KEY_VALUE_SPACE = re.compile(
    r"(?P<pre>^|[\s,])(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^;\s,&]*)"
)
_TOKEN_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "gldt-", "xoxb-", "xoxp-", "xoxa-",
                   "hf_", "sk-", "sk_live_", "sk_test_", "rk_live_", "AKIA", "ASIA", "AIza")


def _looks_like_token(user: str) -> bool:
    """True when a URL's user name is really an access token."""
    if user.startswith(_TOKEN_PREFIXES):
        return True
    return (len(user) >= 20 and re.fullmatch(r"[A-Za-z0-9_\-.~]+", user) is not None
            and any(c.isdigit() for c in user) and any(c.isalpha() for c in user))


def _strip_quotes(value: str) -> str:
    if len(value) >= 2 and value[0] + value[-1] in ("{}", "''", '""'):
        return value[1:-1]
    return value


def _userinfo_spans(text: str) -> list[tuple[int, int, int | None]]:
    """``(start, at, colon)`` of each URL userinfo in *text*: ``text[start:at]`` is
    ``user[:password]``, *colon* the position of the ``:`` (None: no password)."""
    spans = []
    for m in _SCHEME.finditer(text):
        start = m.end()
        end = len(text)
        for stop in (" ", "\t", "\n", '"', "'"):
            i = text.find(stop, start)
            if i != -1:
                end = min(end, i)
        query = text.find("?", start, end)
        limit = query if query != -1 else end
        at = text.rfind("@", start, limit)
        while at != -1 and not _HOST.match(text, at + 1):
            at = text.rfind("@", start, at)
        if at == -1:
            continue
        userinfo = text[start:at]
        colon = userinfo.find(":")
        spans.append((start, at, start + colon if colon != -1 else None))
    return spans


def redact_url(url: str, keep_user: bool = True) -> str:
    """Remove credentials from a URL or connection string; keep the rest.

    Handles, anywhere inside *url*:

    - ``scheme://user:password@host`` (SQLAlchemy's ``postgresql+psycopg://``
      included), the password holding ``/``, ``#``, ``:`` or ``@`` too: the
      password becomes ``***``; a user name that is really a token
      (``https://ghp_…@github.com``) becomes ``***`` too;
    - query parameters with secret names (``?password=…&token=…&sig=…``);
    - ``key=value`` connection strings: ODBC/ADO (``PWD=…;``, ``Password=…;``,
      ``AccountKey=…;``) and libpq (``host=h password=…``).

    With ``keep_user=False`` the whole ``user:password@`` part is dropped when
    it holds a credential (the form used for git remotes). A user name alone
    (``ssh://git@host/x``) is always kept.
    """
    if not url:
        return url
    text = url
    for start, at, colon in reversed(_userinfo_spans(url)):
        user = text[start:colon] if colon is not None else text[start:at]
        if colon is None and not _looks_like_token(user):
            continue
        if not keep_user:
            text = text[:start] + text[at + 1:]
        elif colon is None:
            text = text[:start] + MASK + text[at:]
        elif text[colon + 1:at] != MASK:
            text = text[:colon + 1] + MASK + text[at:]

    return _redact_pairs(text, MASK, lambda value: value in ("", MASK))


def _redact_pairs(text: str, marker: str, keep: Callable[[str], bool]) -> str:
    """Secret ``key=value`` pairs of connection strings and query strings in
    *text* with their values replaced by *marker*; a value for which
    *keep(value)* holds stays as it is."""

    def pair(m: re.Match[str]) -> str:
        if not is_secret_key(m.group("key").strip()) or keep(m.group("value")):
            return m.group(0)
        start, end = m.span("value")
        whole, offset = m.group(0), m.start(0)
        return whole[: start - offset] + marker + whole[end - offset:]

    # Connection strings before query strings: a braced ODBC value may hold a
    # ';' that the query-string pattern would take for a separator.
    if ";" in text:
        text = _KEY_VALUE_ODBC.sub(pair, text)
    text = _KEY_VALUE_SPACE.sub(pair, text)
    return _QUERY_PARAM.sub(pair, text)


def _credentials_in(text: str) -> set[str]:
    """Credentials embedded in one string: URL passwords, token user names,
    secret query parameters and secret connection-string values."""
    found: set[str] = set()
    for start, at, colon in _userinfo_spans(text):
        if colon is not None:
            password = text[colon + 1:at]
            found |= {password, unquote(password)}
        elif _looks_like_token(text[start:at]):
            found.add(text[start:at])
    for pattern in (_KEY_VALUE_ODBC, _KEY_VALUE_SPACE, _QUERY_PARAM):
        for m in pattern.finditer(text):
            if is_secret_key(m.group("key").strip()):
                value = m.group("value").strip()
                found.update((value, _strip_quotes(value), unquote(value)))
    return {v for v in found if v and v != MASK}


# ---------------------------------------------------------------- the environment

#: values shorter than this are never replaced by value (they would match ordinary text)
MIN_SECRET_LENGTH = 6
_TRIVIAL = frozenset({"true", "false", "yes", "no", "none", "null", "unset", "default", "disabled", "enabled"})
_cache: tuple[tuple[tuple[str, str], ...], dict[str, str], dict[Any, Any]] | None = None


def _specific(value: str) -> bool:
    """Long and specific enough to be recognised anywhere without matching
    ordinary text: a dictionary word is not, ``hunter2!`` or a token is."""
    v = value.strip()
    if len(v) < MIN_SECRET_LENGTH or v.lower() in _TRIVIAL or v in (MASK, REDACTED):
        return False
    if os.path.isabs(v) and os.path.exists(v):
        return False  # a path that happens to sit in a secret-named variable
    return len(v) >= 12 or not v.isalpha()


def secret_variables(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Secret value → the environment variable holding it.

    The values of variables that are secrets by :func:`is_secret_variable`,
    and credentials embedded in any variable's value (the password of a
    ``DATABASE_URL``, in encoded and decoded form); only values specific
    enough to be recognised without matching ordinary text.
    """
    global _cache
    env = os.environ if environ is None else environ
    if environ is None and _cache is not None:
        # os.environ's own dict compares in C: a cheap check, every time
        current = getattr(os.environ, "_data", None)
        if current is not None and current == _cache[2]:
            return _cache[1]
    key = tuple(sorted((k, v) for k, v in env.items() if isinstance(v, str)))
    if environ is None and _cache is not None and _cache[0] == key:
        return _cache[1]
    found: dict[str, str] = {}
    for name, value in key:
        if not value:
            continue
        if is_secret_variable(name) and _specific(value):
            found.setdefault(value, name)
        if "=" in value or "@" in value:
            for credential in _credentials_in(value):
                if _specific(credential):
                    found.setdefault(credential, name)
    if environ is None:
        _cache = (key, found, dict(getattr(os.environ, "_data", {})))
    return found


def _value_pattern(values: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted({v for v in values if v}, key=lambda s: (-len(s), s))
    if not ordered:
        return None
    # whole tokens only: a secret never matches inside a longer word
    return re.compile("|".join(rf"(?<![\w]){re.escape(v)}(?![\w])" if v[0].isalnum() or v[-1].isalnum()
                               else re.escape(v) for v in ordered))


_patterns: dict[frozenset[str], re.Pattern[str] | None] = {}


def _replace_env_values(text: str, found: dict[str, str]) -> str:
    if not found or not text:
        return text
    key = frozenset(found)
    if key not in _patterns:
        if len(_patterns) > 16:
            _patterns.clear()
        _patterns[key] = _value_pattern(found)
    pattern = _patterns[key]
    if pattern is None:
        return text
    return pattern.sub(lambda m: env_marker(found[m.group(0)]), text)


# ---------------------------------------------------------------- sources, options, text

#: credentials written in code or SQL: known token formats, private keys, bearer
#: tokens, and string literals assigned to or passed as a secret-named variable,
#: keyword, key or column
_TOKEN_LITERALS = re.compile(
    r"(?<![A-Za-z0-9_\-])(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_\-]{20,}|xox[abpr]-[A-Za-z0-9\-]{10,}"
    r"|hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_\-]{20,}|sk_(?:live|test)_[A-Za-z0-9]{16,}|(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|AIza[0-9A-Za-z\-_]{35}|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})"
)
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)
#: an HTTP authorization scheme alone ("Bearer " + token) is not a credential
_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "digest", "negotiate", "apikey"})
_BEARER = re.compile(r"(?i)(\b(?:bearer|basic|token)\s+)([A-Za-z0-9\-._~+/]{12,}=*)")
# name = "value" / name="value" / "name": "value" / name = 'value' (Python, JSON, SQL)
_ASSIGNED = re.compile(
    r"""(?P<key>[A-Za-z_][A-Za-z0-9_\-]*)(?P<q1>["']?)\s*(?P<op>:|=|==)\s*(?P<q>["'])(?P<value>(?:(?!(?P=q)).){1,500})(?P=q)""")


def redact_source(text: str, environ: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """A cell's source (or SQL) with credentials replaced: environment secrets
    by ``⟨env:NAME⟩`` (put back at replay), credentials written in it by
    ``⟨redacted⟩``. Returns the text and whether a credential written in it
    was removed (such a cell cannot be replayed as it ran)."""
    if not text:
        return text, False
    out = _replace_env_values(text, secret_variables(environ))
    literal = False

    def assigned(m: re.Match[str]) -> str:
        nonlocal literal
        value = m.group("value")
        if not is_secret_key(m.group("key")) or value in (MASK, REDACTED) or _ENV_MARKER.fullmatch(value) \
                or len(value.strip()) < 4 or value.strip().lower() in _AUTH_SCHEMES:
            return m.group(0)
        literal = True
        start, end = m.span("value")
        return m.group(0)[: start - m.start(0)] + REDACTED + m.group(0)[end - m.start(0):]

    out = _ASSIGNED.sub(assigned, out)
    for pattern, repl in ((_PRIVATE_KEY, REDACTED), (_TOKEN_LITERALS, REDACTED)):
        out, n = pattern.subn(repl, out)
        literal = literal or bool(n)
    out, n = _BEARER.subn(lambda m: m.group(1) + REDACTED, out)
    literal = literal or bool(n)
    out, n = _redact_string_literals(out)
    return out, literal or bool(n)


#: SQL that names a credential by a keyword and a quoted value
#: (``PASSWORD 'x'``, ``IDENTIFIED BY 'x'``, DuckDB's ``SECRET 'x'``)
_SQL_KEYWORD_VALUE = re.compile(r"(?i)(\b(?:password|secret|identified\s+by)\s+)'([^'{}]{4,})'")


def _redact_literal(body: str, fstring: bool) -> str:
    """Credentials inside one string literal's text: URL passwords, secret
    ``key=value`` pairs of connection strings and query strings, SQL keyword
    values. In an f-string a replacement field (``{pw}``) is code, never a value."""
    out = body
    for _start, at, colon in reversed(_userinfo_spans(out)):
        if colon is None:
            continue
        password = out[colon + 1:at]
        if password and password != REDACTED and not (fstring and "{" in password):
            out = out[:colon + 1] + REDACTED + out[at:]

    def keep(value: str) -> bool:
        return len(_strip_quotes(value)) < 4 or value == REDACTED or (fstring and "{" in value) \
            or bool(_ENV_MARKER.search(value))

    out = _redact_pairs(out, REDACTED, keep)
    return _SQL_KEYWORD_VALUE.sub(lambda m: m.group(1) + "'" + REDACTED + "'", out)


def _redact_string_literals(text: str) -> tuple[str, int]:
    """:func:`_redact_literal` applied to every string literal of Python
    source (found by the tokenizer, so code is never touched; a source the
    tokenizer refuses is left to the other rules). Returns the text and how
    many literals changed."""
    if not any(c in text for c in "@=") and "password" not in text.lower() and "secret" not in text.lower():
        return text, 0
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return text, 0
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    edits = []
    for tok in tokens:
        if tok.type != tokenize.STRING:
            continue
        prefix = tok.string[: len(tok.string) - len(tok.string.lstrip("rRbBuUfF"))]
        rest = tok.string[len(prefix):]
        quote = rest[:3] if rest[:3] in ('"""', "'''") else rest[:1]
        if len(rest) < 2 * len(quote):
            continue
        body = rest[len(quote):len(rest) - len(quote)]
        changed = prefix + quote + _redact_literal(body, fstring="f" in prefix.lower()) + quote
        if changed != tok.string:
            begin = starts[tok.start[0] - 1] + tok.start[1]
            end = starts[tok.end[0] - 1] + tok.end[1]
            edits.append((begin, end, changed))
    for begin, end, changed in reversed(edits):
        text = text[:begin] + changed + text[end:]
    return text, len(edits)


def redact_text(text: str, environ: Mapping[str, str] | None = None) -> str:
    """A message or any free text fit to show or store: connection-string
    credentials, environment secrets and credential formats removed."""
    if not text:
        return text
    out = _replace_env_values(redact_url(text), secret_variables(environ))
    out = _PRIVATE_KEY.sub(REDACTED, out)
    out = _TOKEN_LITERALS.sub(REDACTED, out)
    return _BEARER.sub(lambda m: m.group(1) + REDACTED, out)


def redact_options(value: Any, environ: Mapping[str, str] | None = None) -> Any:
    """Reader/storage options (plain JSON data) with the values of secret keys
    (``storage_options={"Authorization": …}``, ``token``, ``key``,
    ``client_secret``, ``headers``…) replaced, at any depth."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, str) and is_secret_key(k) and v not in (None, "", MASK):
                env = secret_variables(environ)
                out[k] = env_marker(env[v]) if isinstance(v, str) and v in env else REDACTED
            else:
                out[k] = redact_options(v, environ)
        return out
    if isinstance(value, list):
        return [redact_options(v, environ) for v in value]
    if isinstance(value, str):
        return redact_text(value, environ)
    return value


def redact_data(obj: Any, environ: Mapping[str, str] | None = None) -> Any:
    """JSON-like data with every string passed through :func:`redact_text`'s
    environment and token rules (keys too). The input is not changed; an
    object without secrets is returned as is."""
    found = secret_variables(environ)

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            replaced = _replace_env_values(value, found)
            replaced = _TOKEN_LITERALS.sub(REDACTED, replaced)
            return replaced
        if isinstance(value, dict):
            return {walk(k) if isinstance(k, str) else k: walk(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v) for v in value]
        return value

    return walk(obj)


def contains_secret(text: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The environment variable or credential kind *text* holds, if any (for
    refusing to store it)."""
    found = secret_variables(environ)
    key = frozenset(found)
    if key not in _patterns:
        if len(_patterns) > 16:
            _patterns.clear()
        _patterns[key] = _value_pattern(found)
    pattern = _patterns[key]
    if pattern is not None:
        m = pattern.search(text)
        if m:
            return found[m.group(0)]
    if _TOKEN_LITERALS.search(text) or _PRIVATE_KEY.search(text):
        return "a credential"
    return None


def contains_secret_bytes(data: bytes, environ: Mapping[str, str] | None = None) -> str | None:
    """:func:`contains_secret` for stored bytes (pickled values, captured output)."""
    for value, name in secret_variables(environ).items():
        if value.encode("utf-8", "surrogatepass") in data:
            return name
    text = data.decode("latin-1")
    if _TOKEN_LITERALS.search(text) or _PRIVATE_KEY.search(text):
        return "a credential"
    return None


# ---------------------------------------------------------------- replay


def restore_markers(text: str, environ: Mapping[str, str] | None = None) -> str:
    """Put environment secrets back into a recorded source (for a replay)."""
    env = os.environ if environ is None else environ
    return _ENV_MARKER.sub(lambda m: env.get(m.group(1), m.group(0)), text)


def unresolvable_markers(text: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """What a replay cannot put back into a source: environment variables it
    lacks (by name), and credentials written in the source (``⟨redacted⟩``)."""
    env = os.environ if environ is None else environ
    missing = sorted({m.group(1) for m in _ENV_MARKER.finditer(text) if m.group(1) not in env})
    if REDACTED in text:
        missing.append(REDACTED)
    return missing
