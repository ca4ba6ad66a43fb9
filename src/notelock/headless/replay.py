"""Run a replay: the lock's own cells in a fresh kernel, judged node by node.

The core (:mod:`notelock.core.replay`) plans and judges; this module does the
part that needs Jupyter: it builds a notebook from the cells the lock
recorded, starts a kernel in the lock's folder (so relative paths resolve)
with notelock in replay mode (``NOTELOCK_REPLAY`` names the plan the kernel
side reads; ``NOTELOCK_LOCK_PATH`` sends the replay's own lock to a
temporary file), runs the cells one by one with nbclient, and after each
cell compares the nodes it recorded with the recorded ones. The original
lock file is only ever read.

Progress goes to a :class:`Reporter`: JSON lines for the server extension
(``--events``), a tqdm bar on a terminal, plain lines elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..core import protocol, secrets
from ..core import replay as plan
from ..core.compose import check_imports
from ..core.environment import EnvironmentCapture
from ..core.errors import LockFileError, NotelockError, StoreError
from ..core.history import resolve_lock_source
from ..core.lockfile import check_target, loads_lock
from ..core.store import store_for


@dataclass
class ReplayResult:
    """What a replay found: verdicts per node, messages, and the exit code."""

    lock: str
    mode: str
    environment: list[str] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    exit_code: int = 0
    replay_lock: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` report."""
        return {"lock": self.lock, "mode": self.mode, "environment": self.environment,
                "verdicts": self.verdicts, "messages": self.messages, "summary": self.summary,
                "exit_code": self.exit_code, "replay_lock": self.replay_lock}


# ---------------------------------------------------------------- reporters


class Reporter:
    """Receives a replay's progress. The base class stays silent."""

    def start(self, nodes: int, lock: str) -> None:
        """The replay is about to run *nodes* nodes of *lock*."""

    def message(self, text: str) -> None:
        """A line worth showing (environment differences, drift, errors)."""

    def node(self, verdict: dict[str, Any]) -> None:
        """One node was judged."""

    def done(self, result: ReplayResult) -> None:
        """The replay ended."""


class EventsReporter(Reporter):
    """JSON lines on *stream*: the contract the server extension follows."""

    def __init__(self, stream: TextIO = sys.stdout):
        self.stream = stream

    def _emit(self, **event: Any) -> None:
        self.stream.write(json.dumps(event, default=str) + "\n")
        self.stream.flush()

    def start(self, nodes: int, lock: str) -> None:
        self._emit(event="start", nodes=nodes, lock=lock)

    def message(self, text: str) -> None:
        self._emit(event="message", text=text)

    def node(self, verdict: dict[str, Any]) -> None:
        self._emit(event="node", id=verdict["id"], op=verdict["op"], verdict=verdict["verdict"],
                   detail=verdict.get("detail") or "", label=verdict.get("label"),
                   recorded=verdict.get("recorded"), replayed=verdict.get("replayed"))

    def done(self, result: ReplayResult) -> None:
        self._emit(event="done", exit_code=result.exit_code, summary=result.summary)


class TextReporter(Reporter):
    """Readable lines; on a terminal, one progress bar while it runs and the
    verdicts as one aligned table at the end (piped output: a line per node)."""

    def __init__(self, stream: TextIO = sys.stdout, progress: bool | None = None):
        self.stream = stream
        self.progress = stream.isatty() if progress is None else progress
        self.bar: Any = None
        self.rows: list[dict[str, Any]] = []

    def _write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def start(self, nodes: int, lock: str) -> None:
        self._write(f"replaying {lock}: {nodes} nodes")
        if self.progress:
            from tqdm import tqdm

            self.bar = tqdm(total=nodes, unit="node", file=self.stream, leave=False, dynamic_ncols=True,
                            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} {postfix}")

    def message(self, text: str) -> None:
        self._write(text)

    def node(self, verdict: dict[str, Any]) -> None:
        if self.bar is None:
            detail = f"  ({verdict['detail']})" if verdict.get("detail") else ""
            self._write(f"  {verdict['verdict']:<27} {verdict['id']}  {verdict.get('label', '')}{detail}")
            return
        self.rows.append(verdict)
        self.bar.set_postfix_str(str(verdict.get("label") or verdict["id"])[:40], refresh=False)
        self.bar.update(1)

    def done(self, result: ReplayResult) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            for line in verdict_table(self.rows):
                self._write(line)
        s = result.summary
        title = s.get("headline") or plan.headline(s, result.exit_code, mode=result.mode)
        self._write(f"{title}: {s.get('reproduced', 0)} reproduced, {s.get('reproduced_within_tolerance', 0)} within "
                    f"tolerance, {s.get('not_verified', 0)} not verified, {s.get('DIVERGED', 0)} diverged"
                    f" → exit {result.exit_code}")
        if s.get("drifted") and result.mode == "pinned" and result.exit_code == 0:
            self._write(f"to replay on the current data: notelock replay {result.lock} --against-current")


def verdict_table(verdicts: list[dict[str, Any]]) -> list[str]:
    """Verdicts as lines of aligned columns: verdict, node id, label, detail."""
    if not verdicts:
        return []
    rows = [(v["verdict"], v["id"], str(v.get("label") or ""), str(v.get("detail") or "")) for v in verdicts]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return ["  " + "  ".join(cell.ljust(w) for cell, w in zip(r[:3], widths)).rstrip()
            + (f"  ({r[3]})" if r[3] else "") for r in rows]


# ---------------------------------------------------------------- running


def _locks_all_cells(lock: dict[str, Any]) -> bool:
    # a lock built with NOTELOCK_LOCK_ALL has locked cells without a %%lock line:
    # the replay must record them the same way for the nodes to line up
    for cell in lock.get("cells", []):
        if cell.get("locked") and not protocol.is_locked_source(cell.get("source", "")):
            return True
    return False


def kernel_environment(lock: dict[str, Any], folder: Path, *, replay_lock: Path, plan_file: Path,
                       base: dict[str, str] | None = None) -> dict[str, str]:
    """The replay kernel's environment variables.

    The recorded allowlisted variables (``PYTHONHASHSEED``, thread counts…)
    are applied, because they can change results; the notebook the lock
    names is announced so the workflow section can be compared.
    """
    # NOTELOCK_STORE too: the replay's own snapshots and cache go beside its
    # temporary lock, so a cached cell can never stand in for a re-run one
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if k not in protocol.DRIVER_VARIABLES and k != "NOTELOCK_STORE"}
    recorded = ((lock.get("environment") or {}).get("variables") or {})
    for key, value in recorded.items():
        if isinstance(value, str) and key != "LANG":
            env[key] = value
    seed = ((lock.get("environment") or {}).get("seeds") or {}).get("PYTHONHASHSEED")
    if isinstance(seed, (str, int)) and str(seed).isdigit():
        env["PYTHONHASHSEED"] = str(seed)
    notebook = (lock.get("workflow") or {}).get("notebook")
    env.update(protocol.kernel_settings(notebook=str(folder / notebook) if notebook else None,
                                        lock_path=str(replay_lock), lock_all=_locks_all_cells(lock),
                                        replay_plan=str(plan_file)))
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


class _Events:
    """The kernel side's event file, read incrementally."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.reads: dict[str, dict[str, Any]] = {}
        self.attached = False
        self.store_errors: list[str] = []

    def poll(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, encoding="utf-8") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
                self.offset = fh.tell()
        except FileNotFoundError:
            return []
        events = []
        for line in chunk.splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            events.append(event)
            if event.get("event") == "attached":
                self.attached = True
            elif event.get("event") == "read" and event.get("node"):
                self.reads[event["node"]] = event
            elif event.get("event") == "store_error":
                self.store_errors.append(event.get("message", "store error"))
        return events

    def read_events(self) -> dict[str, dict[str, Any]]:
        self.poll()
        return self.reads


def run_replay(spec: str, *, against_current: bool = False, timeout: float = 600, kernel_name: str | None = None,
               out: str | None = None, reporter: Reporter | None = None,
               env_base: dict[str, str] | None = None, environment: list[str] | None = None,
               notes: tuple[str, ...] = ()) -> ReplayResult:
    """Replay the lock named by *spec*; see the module docstring.

    *environment*, when given, is how the kernel's environment differs from
    the lock's (a replay in another venv: the driver's own would be the wrong
    one to compare); *notes* are said after it.

    Raises :class:`NotelockError` (exit code 2) for an unusable lock: one
    that does not load, has hidden state, or needs a store object that is
    missing.
    """
    reporter = reporter or Reporter()
    if out:
        check_target(Path(out).absolute())  # before minutes of work, not after
    lock, lock_path, name = resolve_lock_source(spec)
    plan.check_replayable(lock)
    plan.check_secrets(lock, env_base)
    folder = lock_path.parent
    check_imports(lock, folder)
    mode = "current" if against_current else "pinned"
    result = ReplayResult(lock=str(lock_path if name == lock_path.name else name), mode=mode)
    reporter.start(plan.node_count(lock), result.lock)

    def say(text: str) -> None:
        text = secrets.redact_text(text)
        result.messages.append(text)
        reporter.message(text)

    result.environment = _environment_lines(lock, folder) if environment is None else environment
    if result.environment:
        say("environment differs from the lock's: " + "; ".join(result.environment))
    for note in notes:
        say(note)

    work = Path(tempfile.mkdtemp(prefix="notelock-replay-"))
    try:
        replay_lock = work / lock_path.name
        events_file = work / "events.jsonl"
        plan_file = work / "plan.json"
        read_plan = plan.read_plan(lock, str(lock_path), against_current=against_current,
                                   events_path=str(events_file))
        read_plan["store"] = _store_root(lock_path, env_base)
        plan_file.write_text(json.dumps(read_plan), encoding="utf-8")
        env = kernel_environment(lock, folder, replay_lock=replay_lock, plan_file=plan_file, base=env_base)
        events = _Events(events_file)
        judge = plan.Judge(lock, events.read_events)
        failed = _execute(lock, folder, env, replay_lock, events, judge, reporter, say,
                          timeout=timeout, kernel_name=kernel_name)
        if events.store_errors:
            raise StoreError(events.store_errors[0])
        result.verdicts = judge.results()
        result.summary = judge.summary()
        result.exit_code = plan.exit_code(judge, mode=mode, failed=failed)
        result.summary["exit_code"] = result.exit_code
        result.summary["headline"] = plan.headline(result.summary, result.exit_code, mode=mode)
        if out and replay_lock.is_file():
            target = Path(out)
            if target.resolve() == lock_path.resolve():
                raise LockFileError(f"{target}: --out would overwrite the lock being replayed")
            try:
                shutil.copyfile(replay_lock, target)
            except OSError as err:
                raise LockFileError(f"{target}: cannot write: {err.strerror or err}") from None
            result.replay_lock = str(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    reporter.done(result)
    return result


def _store_root(lock_path: Path, environ: dict[str, str] | None) -> str | None:
    return store_for(lock_path, environ).spec


def _environment_lines(lock: dict[str, Any], folder: Path) -> list[str]:
    try:
        current = EnvironmentCapture(notebook_dir=folder).get()
    except Exception:  # noqa: BLE001 - the comparison is advice; the replay still runs
        return []
    return plan.environment_changes(lock.get("environment") or {}, current)


def _cell_error(cell: Any) -> tuple[str | None, str]:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output.get("ename"), output.get("evalue", "")
    return None, ""


def _read_replay_lock(path: Path) -> dict[str, Any] | None:
    try:
        return loads_lock(path.read_bytes(), path.name)
    except (FileNotFoundError, LockFileError):
        return None


def _execute(lock: dict[str, Any], folder: Path, env: dict[str, str], replay_lock: Path, events: _Events,
             judge: plan.Judge, reporter: Reporter, say: Callable[[str], None], *, timeout: float,
             kernel_name: str | None) -> bool:
    """Run the cells; judge each recorded cell once its nodes are in the replay's
    lock. True if the replay failed (an unexpected error, a timeout)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    sources = plan.replay_sources(lock, env)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s["source"]) for s in sources])
    client = NotebookClient(nb, timeout=int(timeout), allow_errors=True, kernel_name=kernel_name or "python3",
                            resources={"metadata": {"path": str(folder)}})
    recorded_cells = lock.get("cells", [])
    # A cell that raised is written to the lock with the next successful cell
    # (or when the kernel exits), so its nodes are judged then.
    pending: list[tuple[int, str | None]] = []
    ran: set[int] = set()
    failed = False
    stop_reason = ""

    def judge_pending() -> None:
        replayed = _read_replay_lock(replay_lock)
        mapping = judge.align(replayed) if replayed is not None else {}
        for rec_index, error in pending:
            for verdict in judge.judge_cell(rec_index, replayed, mapping.get(rec_index), error=error):
                reporter.node(verdict)
        pending.clear()

    from jupyter_client.kernelspec import NoSuchKernel

    try:
        client.km = client.create_kernel_manager()
        client.km.kernel_spec  # noqa: B018 - looked up now: an unknown kernel is a one-line error
    except NoSuchKernel as err:
        raise NotelockError(f"no kernel named {err.args[0]!r} (see: jupyter kernelspec list)") from None
    # the kernel's own stderr (start-up notices such as ipykernel's transport
    # warning) is kept out of the report
    kernel_log = tempfile.TemporaryFile()
    with _terminate_cleanly(), kernel_log:
        with client.setup_kernel(env=env, cwd=str(folder), stderr=kernel_log):
            for index, (cell, source) in enumerate(zip(nb.cells, sources)):
                try:
                    client.execute_cell(cell, index)
                except (CellTimeoutError, DeadKernelError) as err:
                    stop_reason = f"{type(err).__name__} in {_where(source, recorded_cells)}"
                    say(f"replay stopped: {stop_reason}: {' '.join(str(err).split())[:200]}")
                    failed = True
                    break
                error, evalue = _cell_error(cell)
                events.poll()
                if events.store_errors:
                    raise StoreError(events.store_errors[0])
                rec_index = source["recorded"]
                if rec_index is None:
                    if error:
                        raise NotelockError(f"replay setup failed ({source['source'].splitlines()[0]}): "
                                            f"{error}: {evalue}")
                    if source["source"] == plan.LOAD_SOURCE and not events.attached:
                        raise NotelockError("the replay kernel did not start notelock in replay mode "
                                            "(is notelock installed for the kernel's Python?)")
                    continue
                ran.add(rec_index)
                pending.append((rec_index, error))
                expected = recorded_cells[rec_index].get("error")
                if error is None and recorded_cells[rec_index].get("locked"):
                    judge_pending()
                if error and error != expected:
                    stop_reason = f"{_where(source, recorded_cells)} raised {error}"
                    say(f"replay stopped at a drifted input: {evalue}" if error == "DriftError"
                        else f"replay stopped: {stop_reason}: {evalue}")
                    failed = True
                    break
                if expected and not error:
                    say(f"{_where(source, recorded_cells)} was recorded raising {expected}; it did not raise")
                    failed = True
        # the kernel has exited and written what it still held
        judge_pending()
    for rec_index in range(len(recorded_cells)):
        if rec_index not in ran:
            for verdict in judge.not_reached(rec_index, f"the replay stopped ({stop_reason})"):
                reporter.node(verdict)
    return failed


def _where(source: dict[str, Any], cells: list[dict[str, Any]]) -> str:
    index = source.get("recorded")
    if index is None:
        return "the setup cell"
    return f"cell {index} (In [{cells[index].get('execution_count') or '?'}])"


class _terminate_cleanly:
    """Turn SIGTERM into an exception, so the kernel is shut down on the way out
    (the server cancels a replay with SIGTERM)."""

    def __enter__(self) -> _terminate_cleanly:
        self.previous = None
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
            self.previous = signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("terminated")

    def __exit__(self, *exc: Any) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


__all__ = ["run_replay", "ReplayResult", "Reporter", "EventsReporter", "TextReporter", "kernel_environment"]
