"""The IPython face: ``%load_ext notelock``, the ``%%lock`` cell magic and ``%lock``.

``%%lock`` cells run exactly as IPython would run them without notelock: an
input transformer blanks the ``%%lock`` line (keeping line numbers), IPython
executes the rest natively (last-expression display, ``await``, tracebacks,
``inspect.getsource`` all unchanged), and the kernel's ``pre_run_cell`` /
``post_run_cell`` events start and finish the recording. Every executed cell
is noted; the lock file beside the notebook is rewritten after each locked
cell.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import HTML, display

from .core import lockfile
from .core.errors import NotelockError
from .core.recorder import Session
from .core.render import LockView

_LOCK_LINE = re.compile(r"^\s*%%lock(?:\s|$)")
_LOCK_OPTION_FLAGS = ("snapshot", "cache", "strict", "nondeterministic")
_FLUSH_DELAY_S = 1.0


def _strip_lock_line(lines: list[str]) -> list[str]:
    """Input transformer: blank a leading ``%%lock …`` line so IPython runs the
    body as an ordinary cell (line numbers unchanged). ``%%lock?`` is left for
    IPython's help."""
    if lines and _LOCK_LINE.match(lines[0]) and not lines[0].rstrip().endswith("?"):
        return ["\n", *lines[1:]]
    return lines


def split_lock_header(raw_cell: str) -> tuple[str, str] | None:
    """``(options, body)`` of a ``%%lock`` cell, or None if the cell is not locked.

    Other cell magics may stand before the ``%%lock`` line (``%%time`` then
    ``%%lock``); the body is what follows it.
    """
    lines = raw_cell.lstrip("\n").splitlines(keepends=True)
    for i, line in enumerate(lines):
        if _LOCK_LINE.match(line):
            return line.strip()[len("%%lock"):].strip(), "".join(lines[i + 1:])
        if not line.lstrip().startswith("%%"):
            return None
    return None


def lock_header(raw_cell: str) -> str | None:
    """The argument string of the ``%%lock`` line of a cell, or None if not locked."""
    split = split_lock_header(raw_cell)
    return split[0] if split is not None else None


def find_notebook(user_ns: dict[str, Any], environ: os._Environ[str] | dict[str, str] = os.environ) -> Path | None:
    """The notebook this kernel runs, as Jupyter exposes it to kernels.

    Order: ``NOTELOCK_NOTEBOOK`` (set by notelock's own builders), ``__session__``
    (set by ipykernel from the server's ``JPY_SESSION_NAME``), VS Code's
    ``__vsc_ipynb_file__``, then ``JPY_SESSION_NAME`` itself.
    """
    candidates = [environ.get("NOTELOCK_NOTEBOOK"), user_ns.get("__session__"),
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


class _Recording:
    """Glue between the kernel's events and the core session."""

    def __init__(self, shell: Any):
        self.shell = shell
        notebook = find_notebook(shell.user_ns)
        override = os.environ.get("NOTELOCK_LOCK_PATH")
        #: NOTELOCK_LOCK_ALL=1 records every cell as if it were %%lock (used by
        #: the headless builders for notebooks that do not use notelock themselves)
        self.lock_all = os.environ.get("NOTELOCK_LOCK_ALL", "") not in ("", "0")
        if override:
            lock_path = Path(override).expanduser().absolute()
        elif notebook is None:
            lock_path = Path.cwd() / lockfile.DEFAULT_LOCK_NAME
            print(f"notelock: this kernel does not know its notebook; recording to {lockfile.DEFAULT_LOCK_NAME}"
                  " in the working directory", file=sys.stderr)
        else:
            lock_path = lockfile.lock_path_for(notebook)
        hidden = set(getattr(shell, "user_ns_hidden", {}) or {})
        self.session = Session(lock_path, notebook, shell.user_ns, provided=hidden, warn=self.warn)
        self._wire_sections(notebook)
        self._attach_contracts()
        self.depth = 0
        self.pending_write = False
        self.write_error: str | None = None
        self._timer: threading.Timer | None = None
        self._first = True
        self._dirty_warned = False
        self._file_lacks_workflow = False
        self.loading_cell = False
        from .cache_face import attach

        # snapshots, the cell cache and lock history (the store's face)
        self.store_face = attach(self)

    def warn(self, message: str) -> None:
        print(self._scrub_text(message), file=sys.stderr)

    def _attach_contracts(self) -> None:
        # schema/determinism contracts and, in a replay kernel, the read pins
        from .verify_face import attach

        attach(self)

    def _scrub_text(self, text: str) -> str:
        try:
            from .core.secrets import scrub, secret_values

            return scrub(text, secret_values())
        except Exception:  # noqa: BLE001
            return text

    def _wire_sections(self, notebook: Path | None) -> None:
        from .core.environment import EnvironmentCapture
        from .core.workflow import WorkflowTracker

        base = notebook.parent if notebook else Path.cwd()
        self.env = EnvironmentCapture(notebook_dir=base)
        self.workflow = WorkflowTracker(notebook)
        self.seed: int | None = None
        session = self.session

        # The first checksum imports nbformat (seconds, through jsonschema):
        # do it in the background so `%load_ext` and the first cells stay fast.
        self._workflow_ready = threading.Event()

        def prewarm() -> None:
            try:
                self.workflow.snapshot(None)
            finally:
                self._workflow_ready.set()

        threading.Thread(target=prewarm, name="notelock-workflow", daemon=True).start()

        def workflow_section() -> dict[str, Any]:
            if not self._workflow_ready.is_set():
                return {"notebook": notebook.name if notebook else None, "checksum": None,
                        "pending": True}
            sources = [c["source"] for c in session.cells]
            return self.workflow.snapshot(sources)

        def environment_section() -> dict[str, Any]:
            env = self.env.get()
            if self.seed is not None:
                env.setdefault("seeds", {})["seed"] = self.seed
            return env

        session.extra_sections["workflow"] = workflow_section
        session.extra_sections["environment"] = environment_section
        session.scrubber = scrub_lock_text

    # ------------------------------------------------------------ events
    def pre_run_cell(self, info: Any) -> None:
        self.depth += 1
        if self.depth > 1 or not getattr(info, "store_history", True):
            return
        try:
            raw = info.raw_cell or ""
            split = split_lock_header(raw)
            if split is None and self.lock_all and raw.strip() and not raw.lstrip().startswith("%load_ext"):
                split = ("", raw)
            header, body = split if split is not None else (None, raw)
            options = parse_cell_options(header) if header is not None else None
            code = self.shell.transform_cell(body)
            self.session.begin_cell(raw, code, locked=header is not None, options=options)
        except Exception as err:  # noqa: BLE001 - never fail the user's cell
            self.session.report_failure("the cell", err)

    def post_run_cell(self, result: Any) -> None:
        self.depth = max(0, self.depth - 1)
        if self.depth > 0:
            return
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
            entry = self.session.end_cell(error, execution_count=getattr(result, "execution_count", None))
            if entry is None:
                return
            if error is not None:
                # the previous lock stays as it was; this execution is written
                # with the next successful one
                self.pending_write = True
                return
            if entry.get("locked") or self._first:
                self.flush()
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

    def flush(self, path: str | Path | None = None) -> Path | None:
        """Write the lock now. Errors are shown in one line, never raised into a cell."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            target = self.session.write(path)
        except NotelockError as err:
            self.warn(f"notelock: lock not written: {err}")
            return None
        except OSError as err:
            self.warn(f"notelock: lock not written: {err.strerror or err}: {getattr(err, 'filename', '')}")
            return None
        self.pending_write = False
        self._first = False
        # a write made before the checksum was known is redone at exit at the latest
        self._file_lacks_workflow = not self._workflow_ready.is_set()
        self._warn_dirty_once()
        return target

    def _warn_dirty_once(self) -> None:
        if self._dirty_warned or not self._workflow_ready.is_set():
            return
        self._dirty_warned = True
        try:
            from .core.workflow import dirty_warning

            snap = self.workflow.snapshot(None)
            if snap.get("allow_dirty"):
                return
            message = dirty_warning(snap.get("git") or {})
            if message:
                self.warn("notelock: " + message)
        except Exception:  # noqa: BLE001
            pass

    def at_exit(self) -> None:
        self._workflow_ready.wait(4)  # the kernel's shutdown grace period is ~5 s
        if self.pending_write or self._file_lacks_workflow:
            self._flush_quietly()


def scrub_lock_text(text: str, data: dict[str, Any]) -> str:
    """Remove every secret value of the kernel's environment from lock text.

    The fast path is a substring check; only when a secret occurs is the
    data scrubbed and serialised again (so the result is still valid JSON).
    """
    import json

    from .core import canonical
    from .core.secrets import scrub_data, secret_values

    secrets = secret_values()
    if not any(s in text or json.dumps(s, ensure_ascii=False)[1:-1] in text for s in secrets):
        return text
    return canonical.dumps(scrub_data(data, secrets))


def parse_cell_options(header: str) -> dict[str, Any]:
    """Options of a ``%%lock`` line as a dict (bad options raise UsageError)."""
    args = parse_argstring(LockMagics.lock_cell, header)
    return {k: v for k, v in vars(args).items() if v not in (None, False)}


@magics_class
class LockMagics(Magics):
    """notelock's magics. ``%lock?`` and ``%%lock?`` print their help."""

    def __init__(self, shell: Any, recording: _Recording):
        super().__init__(shell)
        self.recording = recording

    @magic_arguments(name="%lock")
    @argument("--snapshot", action="store_true", help="keep a copy of every input this cell reads in the store")
    @argument("--cache", action="store_true", help="restore this cell's results from the store when its identity was seen before")
    @argument("--strict", action="store_true", help="stop the cell at a read whose schema differs from the lock")
    @argument("--nondeterministic", action="store_true", help="record the cell's results but do not verify them on replay")
    @argument("--deterministic", action="store_true", help="verify this cell exactly on replay, whatever %%lock contract says")
    @argument("--rtol", type=float, default=None, help="verify numeric results on replay within this relative tolerance")
    @argument("--atol", type=float, default=None, help="verify numeric results on replay within this absolute tolerance")
    @cell_magic("lock")
    def lock_cell(self, line: str, cell: str) -> Any:
        """Run the cell and record its data reads and model fits in the lock file.

        The cell runs exactly as it would without the magic. Its pandas reads
        (``read_csv``, ``read_parquet``, ``read_sql``…) and scikit-learn calls
        (``fit``, ``predict``, ``transform``…) become content-hashed nodes, and
        the cell itself becomes a node whose id covers its code, the content
        of the variables it reads and the notebook functions it calls. The
        lock file beside the notebook is up to date when the cell finishes.

        Examples
        --------
        ::

            %%lock
            df = pd.read_csv("transactions.csv")

            %%lock --nondeterministic
            sample = df.sample(1000)
        """
        # Normally the input transformer removes the %%lock line before IPython
        # looks for magics, so this only runs when called programmatically
        # (get_ipython().run_cell_magic("lock", ...)).
        result = self.shell.run_cell(cell, store_history=False)
        return result.result

    @magic_arguments(name="lock")
    @argument("command", nargs="?", default="show",
              help="show (default) | export [PATH] | status | env | seed N | allow-dirty | diff OTHER"
                   " | strict on|off | contract deterministic|nondeterministic")
    @argument("args", nargs="*", help="arguments of the command")
    @line_magic("lock")
    def lock_line(self, line: str) -> None:
        """Show or export the notebook's lock.

        Commands
        --------
        ``%lock``
            a summary of the lock: nodes with short ids, rows × columns,
            durations and edges.
        ``%lock export [PATH]``
            write the lock file now (beside the notebook, or to PATH).
        ``%lock status``
            workflow and lock state: notebook checksum, unsaved edits, git.
        ``%lock env``
            the environment the lock records.
        ``%lock seed N``
            seed ``random``, NumPy and (if imported) torch with N, and record N.
        ``%lock allow-dirty``
            record runs from a git tree with uncommitted changes without a
            warning; the lock says so (``workflow.allow_dirty``).
        ``%lock snapshot on|off|limit SIZE``
            pin every read of this session's ``%%lock`` cells in the store
            (as ``%%lock --snapshot`` does per cell); reads over the limit
            (default 1 GiB) are recorded by hash only.
        ``%lock store [PATH]``
            show the content store (default ``.notelock/`` beside the lock),
            or use the one at PATH for this session.
        ``%lock diff OTHER``
            the semantic diff from another lock (a path, a notebook, or
            ``NB.ipynb~1``) to this session's: what changed first.
        ``%lock strict on|off``
            stop a cell at a read whose schema differs from the previous
            read of the same source (default: a warning).
        ``%lock contract deterministic|nondeterministic``
            how replay verifies cells that declare nothing (recorded in the
            lock); a cell overrides it with ``--deterministic``,
            ``--nondeterministic`` or ``--rtol/--atol``.

        Examples
        --------
        ::

            %lock
            %lock export
            %lock export audit/fraud.lock.json
        """
        try:
            args = parse_argstring(self.lock_line, line)
        except Exception as err:  # noqa: BLE001 - argparse errors, shown as one line
            print(f"notelock: {err}", file=sys.stderr)
            return
        handler = getattr(self, "_cmd_" + args.command.replace("-", "_"), None)
        if handler is None:
            print(f"notelock: unknown command {args.command!r} (see %lock?)", file=sys.stderr)
            return
        try:
            handler(list(args.args))
        except NotelockError as err:
            print(f"notelock: {err}", file=sys.stderr)

    # ------------------------------------------------------------ commands
    def _cmd_show(self, args: list[str]) -> None:
        session = self.recording.session
        display(LockView(session.to_lock(), session.lock_path.name))

    def _cmd_export(self, args: list[str]) -> None:
        target = Path(args[0]).expanduser() if args else None
        if target is not None and target.is_dir():
            target = target / self.recording.session.lock_path.name
        written = self.recording.flush(target)
        if written is not None:
            print(f"notelock: wrote {written}")

    def _cmd_status(self, args: list[str]) -> None:
        from .core.render import status_html

        session = self.recording.session
        display(HTML(status_html(session.to_lock(), session.lock_path)))

    def _cmd_env(self, args: list[str]) -> None:
        from .core.render import environment_html

        display(HTML(environment_html(self.recording.env.get())))

    def _cmd_seed(self, args: list[str]) -> None:
        from .core.environment import seed_everything

        if len(args) != 1 or not args[0].lstrip("-").isdigit():
            raise NotelockUsage("usage: %lock seed N (an integer)")
        info = seed_everything(int(args[0]))
        self.recording.seed = int(args[0])
        print(f"notelock: seeded {', '.join(info.get('seeded', []))} with {args[0]}")

    def _cmd_snapshot(self, args: list[str]) -> None:
        self._store_face().cmd_snapshot(args)

    def _cmd_store(self, args: list[str]) -> None:
        self._store_face().cmd_store(args)

    def _store_face(self) -> Any:
        face = getattr(self.recording, "store_face", None)
        if face is None:
            raise NotelockUsage("the store is not available in this kernel (see the message at load)")
        return face

    def _cmd_allow_dirty(self, args: list[str]) -> None:
        self.recording.workflow.allow_dirty = True
        print("notelock: runs from a dirty git tree are allowed and recorded as such")

    def _cmd_diff(self, args: list[str]) -> None:
        from .verify_face import lock_diff

        if len(args) != 1:
            raise NotelockUsage("usage: %lock diff OTHER.lock.json (or NB.ipynb, NB.ipynb~1)")
        print(lock_diff(self.recording, args[0]))

    def _cmd_strict(self, args: list[str]) -> None:
        from .verify_face import set_strict

        print(set_strict(self.recording, args))

    def _cmd_contract(self, args: list[str]) -> None:
        from .verify_face import set_contract

        print(set_contract(self.recording, args))


class NotelockUsage(NotelockError):
    """Bad arguments to ``%lock``."""


_STATE: dict[int, tuple[_Recording, Any]] = {}


def load_ipython_extension(shell: Any) -> None:
    """Register the magics, the input transformer and the kernel event hooks."""
    if id(shell) in _STATE:
        return
    recording = _Recording(shell)
    shell.register_magics(LockMagics(shell, recording))
    shell.input_transformers_cleanup.append(_strip_lock_line)
    shell.events.register("pre_run_cell", recording.pre_run_cell)
    shell.events.register("post_run_cell", recording.post_run_cell)
    atexit.register(recording.at_exit)
    _STATE[id(shell)] = (recording, shell)
    # the cell running `%load_ext` fired pre_run_cell before notelock existed:
    # its post_run_cell records it, so the lock holds every cell from here on
    # (loaded at kernel start, e.g. by --InteractiveShellApp.extensions, there
    # is no such cell and the first cell's own events record it)
    recording.loading_cell = _cell_is_running(shell)


def _cell_is_running(shell: Any) -> bool:
    """Whether ``%load_ext`` runs inside a cell of *shell* (rather than at kernel
    start, from ``InteractiveShellApp.extensions``): look for the shell's
    ``run_cell`` machinery on the call stack. (Counting history entries does
    not work: IPython versions differ in when they store the running input.)"""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name in ("run_cell_async", "_run_cell", "run_cell") \
                and frame.f_locals.get("self") is shell:
            return True
        frame = frame.f_back
    return False


def unload_ipython_extension(shell: Any) -> None:
    """Remove the hooks; the lock file stays as last written."""
    state = _STATE.pop(id(shell), None)
    if state is None:
        return
    recording, _ = state
    recording.session.interceptors.deactivate()
    if getattr(recording, "store_face", None) is not None:
        recording.store_face.close()
    for event, func in (("pre_run_cell", recording.pre_run_cell), ("post_run_cell", recording.post_run_cell)):
        try:
            shell.events.unregister(event, func)
        except ValueError:
            pass
    if _strip_lock_line in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.remove(_strip_lock_line)
    recording.at_exit()
    atexit.unregister(recording.at_exit)


def current_recording(shell: Any) -> _Recording | None:
    """The recording attached to *shell*, if notelock is loaded there."""
    state = _STATE.get(id(shell))
    return state[0] if state else None


__all__ = ["LockMagics", "load_ipython_extension", "unload_ipython_extension", "find_notebook",
           "lock_header", "current_recording"]
