"""REST handlers under ``<base_url>/notelock/`` (documented in docs/rest.md).

One base handler does what every resource needs: Jupyter authentication and
authorization, resolving paths inside the server root, and turning
:class:`notelock.core.errors.NotelockError` into an HTTP status with a JSON
``{"message": ...}`` body (never a traceback). Each resource is a small class;
``ROUTES`` is the one route table, checked against the docs by a test.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from notelock.core.diff import diff_locks
from notelock.core.errors import BusyError, NotelockError, http_status
from notelock.core.history import load_version, log_rows
from notelock.core.lockfile import load_lock, lock_path_for
from notelock.core.pack import PACK_SUFFIX, pack
from notelock.core.report import report_for
from notelock.core.secrets import redact_text
from notelock.core.status import notebook_status

from . import paths
from .config import NotelockExtension
from .jobs import ReplayJobs

AUTH_RESOURCE = "notelock"
LOCK_SUFFIX = ".lock.json"


@dataclass
class NotelockService:
    """What the handlers share, kept in ``web_app.settings["notelock"]``."""

    config: NotelockExtension
    jobs: ReplayJobs


class NotelockHandler(APIHandler):
    """Base of every notelock handler."""

    auth_resource = AUTH_RESOURCE

    @property
    def service(self) -> NotelockService:
        return self.settings["notelock"]

    @property
    def root_dir(self) -> str:
        root = getattr(self.contents_manager, "root_dir", None)
        return root or self.settings["server_root_dir"]

    # -- paths ---------------------------------------------------------------

    def resolve(self, api_path: str | None) -> Path:
        """The real path of a client's path, refused unless inside the root."""
        target = paths.resolve(self.root_dir, api_path)
        assert api_path is not None
        if not getattr(self.contents_manager, "allow_hidden", True) and any(
            part.startswith(".") for part in PurePosixPath(api_path).parts
        ):
            # Same rule as the contents API: hidden files are not served.
            raise web.HTTPError(404, f"no such file: {api_path}")
        return target

    def lock_api_path(self, api_path: str | None) -> str:
        """The lock file's API path for a notebook path (or a lock path itself)."""
        if not api_path:
            raise web.HTTPError(400, "missing the 'path' parameter")
        if api_path.endswith(LOCK_SUFFIX):
            return api_path
        if not api_path.endswith(".ipynb"):
            raise web.HTTPError(400, f"not a notebook or a lock file: {api_path}")
        return PurePosixPath(lock_path_for(PurePosixPath(api_path))).as_posix()

    def existing_lock(self, api_path: str | None) -> tuple[str, Path]:
        """``(api path, real path)`` of the lock for *api_path*; 404 if none."""
        lock_api = self.lock_api_path(api_path)
        lock_file = self.resolve(lock_api)
        if not lock_file.is_file():
            raise web.HTTPError(404, f"no lock file: {lock_api}")
        return lock_api, lock_file

    def notebook_and_lock(self) -> tuple[str, str, Path, Path]:
        """``(notebook api path, lock api path, notebook, lock file)`` of ``?path=NB.ipynb``."""
        nb_api = self.get_query_argument("path", None)
        lock_api = self.lock_api_path(nb_api)
        if not str(nb_api).endswith(".ipynb"):
            raise web.HTTPError(400, f"not a notebook: {nb_api}")
        notebook = self.resolve(nb_api)
        if not notebook.is_file():
            raise web.HTTPError(404, f"no such notebook: {nb_api}")
        return str(nb_api), lock_api, notebook, self.resolve(lock_api)

    async def load(self, lock_file: Path) -> dict[str, Any]:
        """Load and validate a lock file off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, load_lock, lock_file)

    # -- errors --------------------------------------------------------------

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if exc is not None and _is_notelock_error(exc):
            status_code = http_status(exc)
        super().send_error(status_code, **kwargs)

    def log_exception(self, typ, value, tb) -> None:  # noqa: ANN001 - tornado's signature
        if value is not None and _is_notelock_error(value):
            self.log.warning("notelock: %s %s: %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors are ``{"message": ...}``: one line for a person, no traceback."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, web.HTTPError):
            message = exc.log_message or exc.reason or self._reason
            if exc.args and exc.log_message:
                message = exc.log_message % exc.args
        elif exc is not None and _is_notelock_error(exc):
            message = self._hide_root(redact_text(str(exc)))
        elif exc is not None:
            message = "internal error in notelock's server extension (details are in the server log)"
        else:
            message = self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message}))

    def _hide_root(self, text: str) -> str:
        # Messages from the core name files by their real path; the client only
        # knows root-relative paths and has no business learning the server's layout.
        root = os.path.realpath(self.root_dir).rstrip(os.sep) + os.sep
        return text.replace(root, "")


def _is_notelock_error(exc: BaseException) -> bool:
    return isinstance(exc, NotelockError)


class LockHandler(NotelockHandler):
    """``GET /notelock/lock?path=NB.ipynb``: the lock and its status."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        nb_api, lock_api, notebook, lock_file = self.notebook_and_lock()

        inputs = _inputs_param(self)
        loop = asyncio.get_running_loop()
        lock = await self.load(lock_file) if lock_file.is_file() else None
        state = await loop.run_in_executor(
            None, functools.partial(notebook_status, notebook, lock_file, inputs=inputs, lock=lock))
        reply: dict[str, Any] = {
            "path": nb_api,
            "lock_path": lock_api,
            "checksum": state.checksum,
            "status": "missing",
            "state": state.to_json(),
            "lock": None,
        }
        if lock is not None:
            recorded = (lock.get("workflow") or {}).get("checksum")
            reply["lock"] = lock
            reply["status"] = "up to date" if recorded == state.checksum else "stale"
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(reply))


def _inputs_param(handler: NotelockHandler) -> str:
    inputs = handler.get_query_argument("inputs", "stat")
    if inputs not in ("stat", "hash"):
        raise web.HTTPError(400, "'inputs' must be 'stat' or 'hash'")
    return inputs


class StatusHandler(NotelockHandler):
    """``GET /notelock/status?path=NB.ipynb``: the notebook's status against its lock, even a broken one."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        nb_api, lock_api, notebook, lock_file = self.notebook_and_lock()
        state = await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(notebook_status, notebook, lock_file, inputs=_inputs_param(self)))
        reply = state.to_json()
        reply["message"] = self._hide_root(redact_text(reply["message"]))
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"path": nb_api, "lock_path": lock_api, **reply}))


class ExportHandler(NotelockHandler):
    """``GET /notelock/export?path=NB.ipynb``: the lock file's bytes, as a download."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        lock_api, lock_file = self.existing_lock(self.get_query_argument("path", None))
        await self.load(lock_file)  # never hand out a lock that does not validate
        data = lock_file.read_bytes()
        name = PurePosixPath(lock_api).name
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header(
            "Content-Disposition",
            f"attachment; filename=\"{_ascii_name(name)}\"; filename*=UTF-8''{quote(name)}",
        )
        self.set_header("Cache-Control", "no-store")
        self.finish(data)


def _download(handler: NotelockHandler, name: str, content_type: str, data: bytes) -> None:
    handler.set_header("Content-Disposition",
                       f"attachment; filename=\"{_ascii_name(name)}\"; filename*=UTF-8''{quote(name)}")
    handler.set_header("Cache-Control", "no-store")
    handler.finish(data, set_content_type=content_type)  # APIHandler would say JSON


def _build_pack(lock_file: Path, snapshots: bool, cache: bool) -> bytes:
    with tempfile.TemporaryDirectory(prefix="notelock-pack-") as tmp:
        out = Path(tmp) / "run.nlpack"
        pack(lock_file, out, snapshots=snapshots, cache=cache)
        return out.read_bytes()


class PackHandler(NotelockHandler):
    """``GET /notelock/pack?path=NB.ipynb``: the lock's pack, as a download."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        lock_api, lock_file = self.existing_lock(self.get_query_argument("path", None))
        snapshots = _flag(self, "snapshots", True)
        cache = _flag(self, "cache", False)
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(None, _build_pack, lock_file, snapshots, cache)
        name = PurePosixPath(lock_api).name[: -len(LOCK_SUFFIX)] + PACK_SUFFIX
        _download(self, name, "application/zip", data)


class ReportHandler(NotelockHandler):
    """``GET /notelock/report?path=NB.ipynb``: the audit report, as an HTML download."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        lock_api, lock_file = self.existing_lock(self.get_query_argument("path", None))
        loop = asyncio.get_running_loop()
        page, _name = await loop.run_in_executor(None, report_for, str(lock_file))
        name = PurePosixPath(lock_api).name[: -len(LOCK_SUFFIX)] + ".report.html"
        _download(self, name, "text/html; charset=utf-8", page.encode("utf-8"))


def _flag(handler: NotelockHandler, name: str, default: bool) -> bool:
    value = handler.get_query_argument(name, None)
    if value is None:
        return default
    if value not in ("0", "1", "true", "false"):
        raise web.HTTPError(400, f"{name} must be 0 or 1, got {value[:20]!r}")
    return value in ("1", "true")


def _ascii_name(name: str) -> str:
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)


class DiffHandler(NotelockHandler):
    """``GET /notelock/diff?a=BEFORE&b=AFTER``: the semantic diff (``~N``: a kept version)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        a_api, a = await self.load_spec(_lock_param(self, "a"))
        b_api, b = await self.load_spec(_lock_param(self, "b"))
        diff = await asyncio.get_running_loop().run_in_executor(None, diff_locks, a, b)
        self.finish(json.dumps({"a": a_api, "b": b_api, "diff": diff}))

    async def load_spec(self, spec: str) -> tuple[str, dict[str, Any]]:
        """A lock file, or a kept version of it (``NB.ipynb~N``, ``NB.lock.json~N``)."""
        match = _VERSION.match(spec)
        path, number = (match.group("path"), int(match.group("n"))) if match else (spec, 0)
        lock_api, lock_file = (self.lock_api_path(path), None) if number else self.existing_lock(path)
        if number:
            lock_file = self.resolve(lock_api)
            lock = await asyncio.get_running_loop().run_in_executor(None, load_version, lock_file, number)
            return f"{lock_api}~{number}", lock
        assert lock_file is not None
        return lock_api, await self.load(lock_file)


_VERSION = re.compile(r"^(?P<path>.+?)~(?P<n>[1-9][0-9]{0,5})$")


def _lock_param(handler: NotelockHandler, name: str) -> str:
    value = handler.get_query_argument(name, None)
    if not value:
        raise web.HTTPError(400, f"missing the '{name}' parameter")
    base = _VERSION.sub(r"\g<path>", value)
    if not (base.endswith(LOCK_SUFFIX) or (base != value and base.endswith(".ipynb"))):
        raise web.HTTPError(400, f"'{name}' must be a lock file ({LOCK_SUFFIX}) or a kept version (NB.ipynb~N): {value}")
    return value


class VersionsHandler(NotelockHandler):
    """``GET /notelock/versions?path=NB.ipynb``: the current lock and its kept versions, newest first."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        lock_api = self.lock_api_path(self.get_query_argument("path", None))
        lock_file = self.resolve(lock_api)
        rows = await asyncio.get_running_loop().run_in_executor(None, log_rows, lock_file)
        folder = PurePosixPath(lock_api).parent
        versions = [{"spec": (folder / row["spec"]).as_posix(), "number": row["number"], "when": row["when"],
                     "identity": row["identity"], "commit": row["commit"],
                     "change": self._hide_root(redact_text(row["change"]))} for row in rows]
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"lock_path": lock_api, "versions": versions}))


class ReplayHandler(NotelockHandler):
    """``POST /notelock/replay`` starts a replay; ``GET`` lists the known ones."""

    @web.authenticated
    @authorized(action="execute")
    async def post(self) -> None:
        # Replaying runs recorded code: only ever on an explicit, authenticated
        # POST (which jupyter_server also checks for the XSRF token).
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "the body must be JSON: {\"path\": \"NB.lock.json\"}") from None
        path = body.get("path") if isinstance(body, dict) else None
        if not isinstance(path, str):
            raise web.HTTPError(400, "the body must be JSON: {\"path\": \"NB.lock.json\"}")
        against_current = body.get("against_current", False)
        if not isinstance(against_current, bool):
            raise web.HTTPError(400, "'against_current' must be true or false")
        lock_api, lock_file = self.existing_lock(path)
        await self.load(lock_file)  # a lock that does not validate is refused now, not later
        jobs = self.service.jobs
        try:
            job = await jobs.start(lock_file, lock_api, against_current=against_current)
        except BusyError as err:
            raise web.HTTPError(429, str(err)) from None
        except OSError as err:
            self.log.error("notelock: cannot start the replay command %s: %s", jobs.command, err)
            raise web.HTTPError(500, "cannot start the replay command (details are in the server log)") from None
        self.set_status(202)
        self.set_header("Location", url_path_join(self.base_url, "notelock", "replay", job.id))
        self.finish(json.dumps(job.snapshot()))

    @web.authenticated
    @authorized
    async def get(self) -> None:
        jobs = self.service.jobs
        jobs.sweep()
        self.finish(json.dumps({"jobs": [job.snapshot() for job in jobs.jobs.values()]}))


class ReplayJobHandler(NotelockHandler):
    """``GET /notelock/replay/<job>`` (long-polls with ``?after=N&wait=S``); ``DELETE`` cancels."""

    def _job(self, job_id: str):
        job = self.service.jobs.get(job_id)
        if job is None:
            raise web.HTTPError(404, f"no replay job {job_id} (unknown, or finished long ago)")
        return job

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        job = self._job(job_id)
        after = _number(self, "after", int)
        wait = _number(self, "wait", float)
        if after is not None and wait and job.status == "running" and job.events <= after:
            # Long poll: answer at the next event instead of being polled in a loop.
            limit = min(wait, self.service.config.replay_wait_max_s)
            try:
                await asyncio.wait_for(job.changed.wait(), timeout=limit)
            except asyncio.TimeoutError:
                pass
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(job.snapshot()))

    @web.authenticated
    @authorized
    async def delete(self, job_id: str) -> None:
        job = self._job(job_id)
        self.service.jobs.cancel(job)
        self.finish(json.dumps(job.snapshot()))


def _number(handler: NotelockHandler, name: str, kind: type) -> Any:
    raw = handler.get_query_argument(name, None)
    if raw is None:
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise web.HTTPError(400, f"'{name}' must be a number") from None
    if value < 0:
        raise web.HTTPError(400, f"'{name}' must not be negative")
    return value


#: The one route table: (path under the base URL, handler). docs/rest.md follows it.
ROUTES: list[tuple[str, type[NotelockHandler]]] = [
    (r"notelock/lock", LockHandler),
    (r"notelock/status", StatusHandler),
    (r"notelock/export", ExportHandler),
    (r"notelock/diff", DiffHandler),
    (r"notelock/pack", PackHandler),
    (r"notelock/report", ReportHandler),
    (r"notelock/versions", VersionsHandler),
    (r"notelock/replay", ReplayHandler),
    (r"notelock/replay/(?P<job_id>[0-9a-f]{32})", ReplayJobHandler),
]


def setup_handlers(web_app: Any) -> None:
    """Add notelock's routes to the server's web application."""
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(
        ".*$", [(url_path_join(base_url, pattern), handler) for pattern, handler in ROUTES]
    )
