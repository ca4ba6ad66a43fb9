"""Replay jobs: one subprocess per replay, tracked in memory by the server.

Replaying a lock file runs the recorded code, so it happens in a separate
process (the replay command starts its own kernel), never in the server. The
command prints one JSON event per line on stdout; the job keeps them, counts
progress, and exposes a snapshot the REST handlers return as is. Finished jobs
are forgotten after a while; running ones are killed when the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notelock.core.errors import BusyError

#: exit code of the replay command → the job's result, as the CLI defines them.
RESULTS = {0: "reproduced", 1: "diverged", 2: "unusable"}

# Variables that would let replayed code act as the user against this server.
_SECRET_ENV = ("JUPYTER_TOKEN", "JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN")

_STDERR_TAIL = 4000


@dataclass
class ReplayJob:
    """The state of one replay, as reported by ``GET /notelock/replay/<job>``."""

    id: str
    path: str
    status: str = "running"  # running | done | failed | cancelled
    nodes_total: int | None = None
    nodes_done: int = 0
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    exit_code: int | None = None
    result: str | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None
    stderr: str = ""
    started: float = field(default_factory=time.time)
    finished: float | None = None
    events: int = 0
    against_current: bool = False
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)
    changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def snapshot(self) -> dict[str, Any]:
        """The JSON the REST API returns for this job."""
        return {
            "id": self.id,
            "path": self.path,
            "status": self.status,
            "progress": {"done": self.nodes_done, "total": self.nodes_total},
            "verdicts": list(self.verdicts),
            "messages": list(self.messages),
            "exit_code": self.exit_code,
            "result": self.result,
            "summary": self.summary,
            "error": self.error,
            "stderr": self.stderr,
            "started": self.started,
            "finished": self.finished,
            "events": self.events,
            "against_current": self.against_current,
        }

    def _notify(self) -> None:
        # Wake every waiting long-poll, then arm a fresh event for the next change.
        self.events += 1
        self.changed.set()
        self.changed = asyncio.Event()

    def apply(self, event: dict[str, Any]) -> None:
        """Fold one event line of the replay command into the job's state."""
        kind = event.get("event")
        if kind == "start":
            total = event.get("nodes")
            self.nodes_total = total if isinstance(total, int) else None
        elif kind == "node":
            self.verdicts.append(
                {key: event.get(key) for key in ("id", "op", "verdict", "detail")}
            )
            self.nodes_done = len(self.verdicts)
        elif kind == "message":
            self.messages.append(str(event.get("text", "")))
        elif kind == "done":
            code = event.get("exit_code")
            if isinstance(code, int):
                self.exit_code = code
            summary = event.get("summary")
            self.summary = summary if isinstance(summary, dict) else None
        self._notify()


class ReplayJobs:
    """All replay jobs of one server: start, look up, cancel, clean up, kill."""

    def __init__(
        self,
        command: list[str],
        *,
        retention_s: float = 3600.0,
        max_running: int = 2,
        log: Any = None,
    ) -> None:
        self.command = list(command)
        self.retention_s = retention_s
        self.max_running = max_running
        self.log = log
        self.jobs: dict[str, ReplayJob] = {}
        self._tasks: set[asyncio.Task] = set()

    def running(self) -> int:
        """How many jobs are still running."""
        return sum(1 for job in self.jobs.values() if job.status == "running")

    def sweep(self) -> None:
        """Forget finished jobs older than the retention period."""
        now = time.time()
        for job_id, job in list(self.jobs.items()):
            if job.finished is not None and now - job.finished > self.retention_s:
                del self.jobs[job_id]

    def get(self, job_id: str) -> ReplayJob | None:
        """The job with this id, unless it is unknown or was cleaned up."""
        self.sweep()
        return self.jobs.get(job_id)

    async def start(self, lock_file: Path, api_path: str, *, against_current: bool = False) -> ReplayJob:
        """Start replaying *lock_file* in a subprocess (on today's data with
        *against_current*, not the snapshots); return at once."""
        self.sweep()
        # The limit is checked and the job registered before the first await,
        # so simultaneous requests cannot all pass the check.
        running = self.running()
        if running >= self.max_running:
            raise BusyError(f"{running} replays are already running; try again when one ends")
        job = ReplayJob(id=uuid.uuid4().hex, path=api_path, against_current=against_current)
        self.jobs[job.id] = job
        env = {k: v for k, v in os.environ.items() if k not in _SECRET_ENV}
        try:
            job.process = await self._spawn(lock_file, env, ["--against-current"] if against_current else [])
        except BaseException:
            del self.jobs[job.id]
            raise
        task = asyncio.ensure_future(self._follow(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _spawn(self, lock_file: Path, env: dict[str, str], extra: list[str]) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *self.command,
            str(lock_file),
            "--events",
            *extra,
            cwd=str(lock_file.parent),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            # Its own session, so the kernel it starts is killed with it.
            start_new_session=os.name == "posix",
        )

    async def _follow(self, job: ReplayJob) -> None:
        proc = job.process
        assert proc is not None and proc.stdout is not None and proc.stderr is not None
        stderr_task = asyncio.ensure_future(proc.stderr.read())
        try:
            async for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    event = None
                if isinstance(event, dict):
                    job.apply(event)
                else:  # stray output from the replayed code: keep it as a message
                    job.apply({"event": "message", "text": line})
            code = await proc.wait()
            err = await stderr_task
        except asyncio.CancelledError:
            stderr_task.cancel()
            raise
        job.stderr = err.decode("utf-8", "replace")[-_STDERR_TAIL:]
        if job.status == "running":
            if job.exit_code is None:
                job.exit_code = code
            job.result = RESULTS.get(job.exit_code)
            if job.result is None:
                job.status = "failed"
                job.error = f"the replay command exited with status {code}"
            else:
                job.status = "done"
        job.finished = time.time()
        job._notify()

    def cancel(self, job: ReplayJob) -> None:
        """Stop a running job and mark it cancelled."""
        if job.status == "running":
            job.status = "cancelled"
            proc = job.process
            # SIGTERM first so the replay command can shut its kernel down.
            _signal(proc, signal.SIGTERM)
            asyncio.get_event_loop().call_later(
                KILL_GRACE_S, _signal, proc, getattr(signal, "SIGKILL", signal.SIGTERM)
            )

    def shutdown(self) -> None:
        """Kill every running replay (the server is stopping)."""
        procs = [job.process for job in self.jobs.values() if job.status == "running"]
        for job in self.jobs.values():
            if job.status == "running":
                job.status = "cancelled"
        for proc in procs:
            _signal(proc, signal.SIGTERM)
        if procs:
            time.sleep(min(KILL_GRACE_S, 1.0))
        for proc in procs:
            _signal(proc, getattr(signal, "SIGKILL", signal.SIGTERM))
        for task in list(self._tasks):
            task.cancel()


#: seconds a replay gets between SIGTERM and SIGKILL.
KILL_GRACE_S = 3.0


def _signal(proc: asyncio.subprocess.Process | None, sig: int) -> None:
    if proc is None or proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        if os.name == "posix":
            os.killpg(proc.pid, sig)
        else:
            proc.kill()
