"""Writing a session's lock without making a cell wait for the disk.

A session rewrites its lock after every locked cell. Serialising is
incremental (see :class:`~notelock.core.canonical.IncrementalDumper`), but the
file is still written whole, atomically and fsynced, and after thousands of
cells it is megabytes: done in the cell, that write would make every cell
slower than the one before. :class:`LockWriter` does the file work on one
background thread instead. Texts handed to it are immutable byte pieces made
on the caller's thread, so nothing of the live session is read concurrently.

What it promises:

- writes of one target happen in the order submitted; a write still waiting
  when a newer one for the same target arrives is dropped (the newer text
  contains everything it had), and its waiters get the newer one's outcome;
- :meth:`wait` returns once every write submitted so far has finished;
- a failed write is kept and handed to the next :meth:`take_failure`, so it
  is reported in one line by the face, never lost and never raised into a
  thread nobody watches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import lockfile

#: locks up to this size are written before the cell finishes (the file is on
#: disk when the cell's reply arrives); larger ones in the background
SYNC_BYTES = 1 << 20


class WriteJob:
    """One submitted write; :meth:`result` waits for it."""

    __slots__ = ("target", "pieces", "options", "_done", "error")

    def __init__(self, target: Path, pieces: Sequence[bytes], options: dict[str, Any]) -> None:
        self.target = target
        self.pieces = pieces
        self.options = options
        self._done = threading.Event()
        self.error: BaseException | None = None

    def finish(self, error: BaseException | None) -> None:
        self.error = error
        self.pieces = ()
        self._done.set()

    def result(self) -> Path:
        """The target, once written; raises what the write raised."""
        self._done.wait()
        if self.error is not None:
            raise self.error
        return self.target


class LockWriter:
    """One background thread writing lock texts with :func:`lockfile.write_lock_text`."""

    def __init__(self, write: Callable[..., Path] = lockfile.write_lock_text) -> None:
        self._write = write
        self._cond = threading.Condition()
        self._queue: list[WriteJob] = []
        #: jobs dropped for a newer one: newer job -> the dropped jobs waiting on it
        self._followers: dict[int, list[WriteJob]] = {}
        self._busy = False
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def submit(self, target: Path, pieces: Sequence[bytes], **options: Any) -> WriteJob:
        """Queue a write of *pieces* to *target* (``options`` go to write_lock_text)."""
        job = WriteJob(Path(target), pieces, options)
        with self._cond:
            for i, waiting in enumerate(self._queue):
                if waiting.target == job.target:
                    del self._queue[i]
                    self._followers.setdefault(id(job), []).extend(
                        [waiting, *self._followers.pop(id(waiting), [])])
                    break
            self._queue.append(job)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="notelock-lock-writer", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return job

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue:
                    self._cond.wait(timeout=30.0)
                    if not self._queue:
                        self._thread = None
                        return
                job = self._queue.pop(0)
                followers = self._followers.pop(id(job), [])
                self._busy = True
            error: BaseException | None = None
            try:
                self._write(job.target, job.pieces, **job.options)
            except BaseException as err:  # noqa: BLE001 - kept for the face to report
                error = err
            with self._cond:
                self._busy = False
                if error is not None:
                    self._failure = error
                for done in (job, *followers):
                    done.finish(error)
                self._cond.notify_all()

    def wait(self) -> None:
        """Return once every write submitted so far has finished."""
        with self._cond:
            while self._queue or self._busy:
                self._cond.wait()

    def take_failure(self) -> BaseException | None:
        """The error of a background write that failed since the last call, if any."""
        with self._cond:
            failure, self._failure = self._failure, None
        return failure


__all__ = ["LockWriter", "WriteJob", "SYNC_BYTES"]
