"""``notelock lock NB.ipynb [NB ...]``: build lock files headlessly.

The same build as ``jupyter nbconvert --to lockfile`` (:mod:`notelock.headless.build`):
each notebook runs in its own fresh kernel, several at once up to ``--jobs``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import NotelockError, UsageError
from ..core.lockfile import load_lock, lock_path_for
from ..core.uptodate import CURRENT, status
from ..headless.build import build_lock
from . import args as args_

DESCRIPTION = """\
Run each notebook in a fresh kernel in its folder and write its lock file
(fraud.ipynb -> fraud.lock.json beside it, or in --output-dir).

A notebook that loads notelock itself (%load_ext notelock) runs exactly as
written, so its lock is the one an interactive run records; any other
notebook gets notelock loaded at kernel start and, unless it has %%lock cells
of its own, every cell recorded as if it were %%lock. A failing cell fails
that notebook's build and leaves its previous lock untouched; the other
notebooks still build.

A notebook whose lock is current (notelock status: the notebook, every read's
source and the environment unchanged) is not run again, as a build tool skips
an up-to-date target; it is listed as "current". --force runs it anyway.

With --no-execute nothing runs: the lock beside each notebook is checked
against the notebook (workflow.checksum) and copied to --output-dir if given.

Exit status: 0 all locks built, 1 some build failed or a lock is stale,
2 bad usage or unusable input (no such notebook, not a notebook, no such kernel).
"""

EPILOG = """\
examples:
  notelock lock fraud_detection.ipynb
  notelock lock notebooks/*.ipynb --jobs 2 --output-dir locks/
  notelock lock fraud_detection.ipynb --no-execute
  notelock lock fraud_detection.ipynb --force
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``notelock lock`` to the command tree."""
    p = sub.add_parser("lock", help="run notebooks in fresh kernels and write their lock files",
                       description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebooks", nargs="+", metavar="NB.ipynb", help="notebooks to build")
    p.add_argument("-j", "--jobs", type=args_.count(1, 64), default=None, metavar="N",
                   help="notebooks built at once, each in its own kernel (default: CPU count)")
    p.add_argument("-o", "--output-dir", type=Path, default=None, metavar="DIR",
                   help="write the locks here instead of beside the notebooks")
    p.add_argument("--timeout", type=lambda t: int(math.ceil(args_.seconds(t))), default=None, metavar="S",
                   help="seconds a cell may run (default: no limit)")
    p.add_argument("--kernel", default=None, metavar="NAME",
                   help="kernel to run in (default: each notebook's kernelspec)")
    p.add_argument("--no-execute", action="store_true",
                   help="do not run anything: check the existing locks are fresh (and copy them to --output-dir)")
    p.add_argument("--force", action="store_true",
                   help="run every notebook, even one whose lock is current")
    p.set_defaults(func=run)


@dataclass
class Outcome:
    """One notebook's build, as the final table shows it."""

    notebook: Path
    status: str  # "ok", "fresh", "current" (skipped), "failed"
    identity: str = ""
    nodes: int | None = None
    seconds: float | None = None
    error: str = ""
    exit_code: int = 0
    target: Path | None = None


def run(args: argparse.Namespace) -> int:
    """Build every notebook; print progress, then a table. Returns the exit code."""
    notebooks = _check_notebooks(args.notebooks)
    targets = _targets(notebooks, args.output_dir)
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout}")

    progress = _Progress(len(notebooks))

    def one(nb: Path) -> Outcome:
        if not args.no_execute and not args.force:
            skipped = skip_current(nb, targets[nb])
            if skipped is not None:
                progress.done(skipped)
                return skipped
        outcome = build_one(nb, targets[nb], execute=not args.no_execute, timeout=args.timeout,
                            kernel_name=args.kernel)
        progress.done(outcome)
        return outcome

    if len(notebooks) == 1 or jobs == 1:
        outcomes = [one(nb) for nb in notebooks]
    else:
        with ThreadPoolExecutor(max_workers=min(jobs, len(notebooks)), thread_name_prefix="notelock-lock") as pool:
            futures = {pool.submit(one, nb): nb for nb in notebooks}
            finished = {futures[f]: f.result() for f in as_completed(futures)}
        outcomes = [finished[nb] for nb in notebooks]
    progress.close()
    print(format_table(outcomes))
    return max((o.exit_code for o in outcomes), default=0)


def build_one(notebook: Path, target: Path, *, execute: bool, timeout: int | None,
              kernel_name: str | None) -> Outcome:
    """Build one lock; never raises for a failure of this notebook (it is in the outcome)."""
    started = time.perf_counter()
    try:
        result = build_lock(notebook, target=target, execute=execute, timeout=timeout, kernel_name=kernel_name)
    except NotelockError as err:
        return Outcome(notebook, "failed", error=str(err), exit_code=err.exit_code,
                       seconds=time.perf_counter() - started)
    except Exception as err:  # noqa: BLE001 - one notebook's surprise must not stop the others
        return Outcome(notebook, "failed", error=f"{type(err).__name__}: {' '.join(str(err).split())}",
                       exit_code=1, seconds=time.perf_counter() - started)
    for line in result.warnings:
        print(f"{notebook.name}: {line}", file=sys.stderr)
    return Outcome(notebook, "ok" if execute else "fresh", identity=result.identity,
                   nodes=len(result.lock.get("nodes", {})), seconds=result.seconds, target=target)


def skip_current(notebook: Path, target: Path) -> Outcome | None:
    """The outcome of a notebook whose lock is current (not run), else None; says
    per notebook why it is (or is not) skipped."""
    started = time.perf_counter()
    try:
        verdict = status(notebook, target)
    except NotelockError:
        return None
    if verdict.state != CURRENT:
        if verdict.reasons() != ["no lock"]:
            print(f"{notebook.name}: running: lock {verdict.state} ({verdict.reasons()[0]})", file=sys.stderr)
        return None
    print(f"{notebook.name}: lock is current, not run again (--force to run it anyway)", file=sys.stderr)
    lock = load_lock(target)
    return Outcome(notebook, "current", identity=lock["identity"], nodes=len(lock.get("nodes", {})),
                   seconds=time.perf_counter() - started, target=target)


def _check_notebooks(values: list[str]) -> list[Path]:
    notebooks: list[Path] = []
    for value in values:
        path = Path(value)
        if not path.is_file():
            raise UsageError(f"{value}: no such notebook" + (" (a folder: pass its notebooks, e.g. DIR/*.ipynb)"
                                                            if path.is_dir() else ""))
        if path.suffix != ".ipynb":
            raise UsageError(f"{value}: not a notebook (expected a .ipynb file)")
        if len(lock_path_for(path).name.encode("utf-8", "surrogateescape")) > 255:
            raise UsageError(f"{path.name[:40]}…: its lock's name ({path.stem[:20]}….lock.json) would be longer"
                             " than the file system allows; shorten the notebook's name")
        if path.absolute() not in [p.absolute() for p in notebooks]:
            notebooks.append(path)
    return notebooks


def _targets(notebooks: list[Path], output_dir: Path | None) -> dict[Path, Path]:
    targets: dict[Path, Path] = {}
    seen: dict[Path, Path] = {}
    for nb in notebooks:
        target = lock_path_for(nb) if output_dir is None else output_dir / lock_path_for(nb).name
        other = seen.get(target.absolute())
        if other is not None:
            raise UsageError(f"{other} and {nb} would both write {target}")
        seen[target.absolute()] = nb
        targets[nb] = target
    return targets


class _Progress:
    """A tqdm bar on a terminal, one plain line per notebook otherwise."""

    def __init__(self, total: int):
        self.total = total
        self.count = 0
        self.lock = threading.Lock()
        self.bar = None
        if total > 1 and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="nb", desc="notelock lock", file=sys.stderr, leave=False)

    def done(self, outcome: Outcome) -> None:
        with self.lock:
            self.count += 1
            line = f"[{self.count}/{self.total}] {outcome.status} {outcome.notebook}"
            if outcome.error:
                line = f"notelock: error: {outcome.error}"
            if self.bar is not None:
                if outcome.error:
                    self.bar.write(line, file=sys.stderr)
                self.bar.update(1)
            elif outcome.error or self.total > 1:
                print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def format_table(outcomes: list[Outcome]) -> str:
    """The final table: notebook, status, identity (short), nodes, seconds, error."""
    rows = [("notebook", "status", "identity", "nodes", "seconds", "error")]
    for o in outcomes:
        name = str(o.notebook)  # as the user named it
        ident = o.identity.split(":", 1)[-1][:12] if o.identity else "-"
        rows.append((name, o.status, ident, "-" if o.nodes is None else str(o.nodes),
                     "-" if o.seconds is None else f"{o.seconds:.1f}", _short(o.error)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r[:-1], widths)) + "  " + r[-1] for r in rows]
    ok = sum(o.exit_code == 0 for o in outcomes)
    current = sum(o.status == "current" for o in outcomes)
    lines.append((f"{ok} of {len(outcomes)} built" if ok == len(outcomes) else
                  f"{ok} of {len(outcomes)} built, {len(outcomes) - ok} failed")
                 + (f" ({current} current, not run again)" if current else ""))
    return "\n".join(line.rstrip() for line in lines)


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["register", "run", "build_one", "format_table", "Outcome"]
