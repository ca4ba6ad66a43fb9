"""The recording of one kernel: the kernel's events turned into a core Session.

``%%lock`` cells run exactly as IPython would run them without notelock: an
input transformer blanks the ``%%lock`` line (keeping line numbers), IPython
executes the rest natively (last-expression display, ``await``, tracebacks,
``inspect.getsource`` all unchanged), and the kernel's ``pre_run_cell`` /
``post_run_cell`` events start and finish the recording. Every executed cell
is noted; the lock file beside the notebook is rewritten after each locked
cell.

A :class:`Recording` is created by ``%load_ext notelock`` and kept on the
magics object the shell holds (see :func:`notelock.kernel.recording_of`).
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

from ..core import lockfile, protocol, secrets
from ..core.environment import EnvironmentCapture
from ..core.errors import NotelockError, UsageError
from ..core.recorder import Session
from ..core.workflow import WorkflowTracker, dirty_warning
from . import contracts as _contracts
from . import store_hooks
from .capture import Capture, shown_of

_FLUSH_DELAY_S = 1.0


def strip_lock_line(lines: list[str]) -> list[str]:
    """Input transformer: blank a leading ``%%lock …`` line so IPython runs the
    body as an ordinary cell (line numbers unchanged). ``%%lock?`` is left for
    IPython's help, and a line with bad options is left for the ``%%lock``
    magic itself, which refuses the cell with a one-line ``UsageError``: a
    cell never runs unrecorded because of a typo in its options."""
    if lines and protocol.LOCK_LINE.match(lines[0]) and not lines[0].rstrip().endswith("?"):
        try:
            protocol.parse_lock_options(lines[0].strip()[len("%%lock"):])
        except UsageError:
            return lines
        return ["\n", *lines[1:]]
    return lines


def find_notebook(user_ns: dict[str, Any], environ: os._Environ[str] | dict[str, str] = os.environ) -> Path | None:
    """The notebook this kernel runs, as Jupyter exposes it to kernels.

    Order: ``NOTELOCK_NOTEBOOK`` (set by notelock's own builders), ``__session__``
    (set by ipykernel from the server's ``JPY_SESSION_NAME``), VS Code's
    ``__vsc_ipynb_file__``, then ``JPY_SESSION_NAME`` itself.
    """
    candidates = [protocol.setting("NOTELOCK_NOTEBOOK", environ), user_ns.get("__session__"),
                  user_ns.get("__vsc_ipynb_file__"), environ.get("JPY_SESSION_NAME")]
    for value in candidates:
        if not isinstance(value, str) or not value.endswith(".ipynb"):
            continue
        path = Path(value).expanduser()
        if not path.is_absolute():
            if not (Path.cwd() / path).exists() and (Path.cwd() / path.name).exists():
                path = Path(path.name)  # a path relative to the server root, kernel in its folder
            path = Path.cwd() / path
        if path.parent.is_dir():
            return path
    return None


class Recording:
    """Glue between the kernel's events and the core session."""

    def __init__(self, shell: Any):
        self.shell = shell
        self._unknown_notebook = False
        notebook = find_notebook(shell.user_ns)
        override = protocol.setting("NOTELOCK_LOCK_PATH")
        #: NOTELOCK_LOCK_ALL=1 records every cell as if it were %%lock (used by
        #: the headless builders for notebooks that do not use notelock themselves)
        self.lock_all = protocol.flag("NOTELOCK_LOCK_ALL")
        if override:
            lock_path = Path(override).expanduser().absolute()
        elif notebook is None:
            lock_path = Path.cwd() / lockfile.DEFAULT_LOCK_NAME
            # said once, with the first write: loading the extension (or asking
            # for %lock?) writes nothing, so it says nothing
            self._unknown_notebook = True
        else:
            lock_path = lockfile.lock_path_for(notebook)
        hidden = set(getattr(shell, "user_ns_hidden", {}) or {})
        self.session = Session(lock_path, notebook, shell.user_ns, provided=hidden, warn=self.warn)
        self._wire_sections(notebook)
        # schema/determinism contracts and, in a replay kernel, the read pins
        self.contracts = _contracts.attach(self)
        self.depth = 0
        self.pending_write = False
        self._timer: threading.Timer | None = None
        self._first = True
        self._dirty_warned = False
        self.loading_cell = False
        self.closed = False
        self._capture: Capture | None = None
        # snapshots, the cell cache and lock history
        self.store_hooks = store_hooks.attach(self)

    def warn(self, message: str) -> None:
        """Print one line for the user (secrets removed)."""
        try:
            message = secrets.redact_text(message)
        except Exception:  # noqa: BLE001 - a warning is still shown
            message = "notelock: a warning could not be shown without risking a secret in it"
        print(message, file=sys.stderr)

    def _wire_sections(self, notebook: Path | None) -> None:
        base = notebook.parent if notebook else Path.cwd()
        self.env = EnvironmentCapture(notebook_dir=base)
        self.workflow = WorkflowTracker(notebook)
        self.seed: int | None = None
        session = self.session

        def add_sections(data: dict[str, Any]) -> None:
            # the checksum is a JSON parse of the saved notebook (redone only
            # when the file changed), so every write carries it
            # cells re-run later do not count: `saved` is about each cell's latest execution
            data["workflow"] = self.workflow.snapshot(
                [c["source"] for c in data.get("cells", session.cells) if "superseded_by" not in c])
            env = self.env.get()
            if self.seed is not None:
                env.setdefault("seeds", {})["seed"] = self.seed
            data["environment"] = env

        session.events.register("lock_data", add_sections)

    # ------------------------------------------------------------ events
    def pre_run_cell(self, info: Any) -> None:
        """IPython's ``pre_run_cell``: start recording the cell."""
        self.depth += 1
        if self.depth > 1 or not getattr(info, "store_history", True):
            return
        try:
            raw = info.raw_cell or ""
            split = protocol.split_lock_header(raw)
            if split is None and self.lock_all and raw.strip() and not protocol.loads_notelock(raw):
                split = ("", raw)
            header, body = split if split is not None else (None, raw)
            try:
                options = protocol.parse_lock_options(header) if header is not None else None
            except UsageError:
                return  # the %%lock magic refuses the cell (see strip_lock_line): nothing runs
            code = self.shell.transform_cell(body)
            if header is not None:
                # started before the session's cell_begin event, so that a tee
                # started there (the cache's) is inside this one and stops first
                self._capture = Capture(self.shell)
            self.session.begin_cell(raw, code, locked=header is not None, options=options,
                                    cell_id=getattr(info, "cell_id", None))
        except Exception as err:  # noqa: BLE001 - never fail the user's cell
            self.session.report_failure("the cell", err)

    def post_run_cell(self, result: Any) -> None:
        """IPython's ``post_run_cell``: finish the cell and write the lock."""
        self.depth = max(0, self.depth - 1)
        if self.depth > 0:
            return
        capture, self._capture = self._capture, None
        items = capture.stop() if capture is not None else None  # first: never leave a tee behind
        try:
            if self.loading_cell:
                self.loading_cell = False
                info = getattr(result, "info", None)
                raw = getattr(info, "raw_cell", None)
                if raw is not None and getattr(info, "store_history", True):
                    self.session.begin_cell(raw, self.shell.transform_cell(raw), locked=False)
            if self.session.current is None:
                return
            error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
            if items is not None and self.session.current.locked:
                self.session.current.shown = shown_of(items, getattr(result, "result", None), self.shell)
            entry = self.session.end_cell(error, execution_count=getattr(result, "execution_count", None))
            if entry is None:
                return
            if error is not None:
                # the previous lock stays as it was; this execution is written
                # with the next successful one
                self.pending_write = True
                return
            if self._unknown_notebook and not entry.get("locked"):
                # no notebook, nothing locked yet (%load_ext, %lock?): no lock
                # file appears in the working directory until a cell is locked
                self.pending_write = True
            elif entry.get("locked") or self._first:
                self.flush(wait=False)
            else:
                self._schedule_flush()
        except Exception as err:  # noqa: BLE001
            self.session.report_failure("the cell", err)

    # ------------------------------------------------------------ writing
    def _schedule_flush(self) -> None:
        self.pending_write = True
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(_FLUSH_DELAY_S, self._flush_quietly)
        self._timer.daemon = True
        self._timer.start()

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - reported by the next explicit write
            pass

    def flush(self, path: str | Path | None = None, *, wait: bool = True) -> Path | None:
        """Write the lock now (*wait*: see Session.write). Errors are shown in
        one line, never raised into a cell."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        earlier = self.session.take_write_failure()
        if earlier is not None:
            self.warn(f"notelock: lock not written: {_write_error(earlier)}")
        try:
            target = self.session.write(path, wait=wait)
        except (NotelockError, OSError) as err:
            self.warn(f"notelock: lock not written: {_write_error(err)}")
            return None
        self.pending_write = False
        self._first = False
        if self._unknown_notebook:
            self._unknown_notebook = False
            self.warn(f"notelock: this kernel does not know its notebook; recording to {target}"
                      " (set NOTELOCK_NOTEBOOK to the notebook's path to record beside it)")
        self._warn_dirty_once()
        return target

    def _warn_dirty_once(self) -> None:
        if self._dirty_warned:
            return
        self._dirty_warned = True
        try:
            snap = self.workflow.snapshot(None)
            if snap.get("allow_dirty"):
                return
            message = dirty_warning(snap.get("git") or {})
            if message:
                self.warn("notelock: " + message)
        except Exception:  # noqa: BLE001
            pass

    def at_exit(self) -> None:
        """Write what is still pending when the kernel exits, and wait for
        the writes still running."""
        if self.pending_write and not self._unknown_notebook:
            self._flush_quietly()
        self.settle()

    def settle(self) -> None:
        """Wait for lock writes still running in the background (before the
        lock file is read by a command)."""
        failure = self.session.settle()
        if failure is not None:
            self.warn(f"notelock: lock not written: {_write_error(failure)}")

    def close(self) -> None:
        """Detach from the shell (``%unload_ext``); the lock file stays as last written."""
        self.closed = True
        self.session.interceptors.deactivate()
        if self.store_hooks is not None:
            self.store_hooks.close()
        self.at_exit()


def _write_error(err: BaseException) -> str:
    """One line for a failed lock write."""
    if isinstance(err, OSError) and not isinstance(err, NotelockError):
        return f"{err.strerror or err}: {getattr(err, 'filename', '') or ''}".rstrip(": ")
    return str(err)


__all__ = ["Recording", "find_notebook", "strip_lock_line", "UsageError"]
