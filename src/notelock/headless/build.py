"""Headless builds: execute a notebook in a fresh kernel and keep the lock it records.

The nbconvert exporter (``jupyter nbconvert --to lockfile``) and the CLI
(``notelock lock``) both call :func:`build_lock`, so the two cannot drift.

A build runs the notebook with nbclient in a fresh kernel whose working
directory is the notebook's folder, exactly as JupyterLab would run it, with
two differences that only concern where the lock goes:

- ``NOTELOCK_NOTEBOOK`` names the notebook (the kernel has no session path);
- ``NOTELOCK_LOCK_PATH`` points the kernel's writes at a temporary file
  beside the target, so a failed build never touches the previous lock.

A notebook that loads notelock itself (``%load_ext notelock``) runs exactly
as written, so its lock is the one an interactive run records. Any other
notebook gets notelock loaded at kernel start (no extra cell, so nothing
extra is recorded) and, unless it has ``%%lock`` cells of its own,
``NOTELOCK_LOCK_ALL=1``: every cell is recorded as if it were ``%%lock``.

After the last cell the build asks the kernel, silently, to write its lock,
then shuts the kernel down as nbclient does, checks that the lock covers the
last executed cell, and validates it before moving it into place atomically.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import protocol
from ..core.errors import LockFileError, NotelockError
from ..core.history import keep_version
from ..core.lockfile import (
    atomic_write_bytes,
    build_temp_path,
    file_lock,
    loads_lock,
    lock_path_for,
    lock_sidecar,
    remove_stale_temporaries,
)
from ..core.workflow import WorkflowTracker

#: what the build runs, silently, after the last cell: the kernel writes its
#: lock then, so the lock is complete before the kernel is asked to shut down
#: (and the build waits on shutdown no longer than plain nbconvert does)
FLUSH_CODE = "get_ipython().run_line_magic('lock', 'export')"


class BuildError(NotelockError):
    """The notebook ran but did not yield a lock (a cell failed, a timeout, a dead kernel)."""

    exit_code = 1


class CellFailed(BuildError):
    """A cell raised during the build; ``__cause__`` is nbclient's ``CellExecutionError``."""

    def __init__(self, message: str, *, notebook: Path, cell_number: int, execution_count: int | None,
                 ename: str, evalue: str):
        super().__init__(message)
        self.notebook = notebook
        self.cell_number = cell_number
        self.execution_count = execution_count
        self.ename = ename
        self.evalue = evalue


class StaleLockError(NotelockError):
    """The lock beside a notebook was recorded from a different version of it."""

    exit_code = 1


@dataclass
class BuildResult:
    """What one build produced."""

    notebook: Path
    #: the lock file's exact bytes (canonical JSON)
    data: bytes
    lock: dict[str, Any]
    #: where the lock was written, or None when the caller writes it
    path: Path | None
    executed: bool
    seconds: float
    #: lines the kernel printed that start with ``notelock:`` (recording problems)
    warnings: list[str] = field(default_factory=list)

    @property
    def identity(self) -> str:
        return self.lock["identity"]


def notebook_mode(nb: Any) -> tuple[bool, bool]:
    """``(loads_notelock, has_lock_cells)`` for a notebook node, from its code cells."""
    sources = [cell.get("source", "") for cell in nb.get("cells", []) if cell.get("cell_type") == "code"]
    sources = ["".join(s) if isinstance(s, list) else s for s in sources]
    loads = any(protocol.loads_notelock(s) for s in sources)
    locks = any(protocol.is_locked_source(s) for s in sources)
    return loads, locks


def read_notebook(path: Path) -> Any:
    """Read a notebook file as nbformat v4; :class:`NotelockError` (exit 2) if it is not one."""
    import nbformat

    try:
        with warnings.catch_warnings():  # nbformat's notices about missing cell ids: not the user's problem here
            warnings.simplefilter("ignore")
            return nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise NotelockError(f"{path}: no such notebook") from None
    except OSError as err:
        raise NotelockError(f"{path}: cannot read: {err.strerror or err}") from None
    except Exception as err:  # noqa: BLE001 - nbformat raises many types for a bad file
        raise NotelockError(f"{path}: not a readable notebook: {type(err).__name__}: {err}") from None


def build_lock(notebook: str | os.PathLike[str], *, target: str | os.PathLike[str] | None = None,
               work_dir: str | os.PathLike[str] | None = None, nb: Any = None, execute: bool = True,
               timeout: int | None = None, kernel_name: str | None = None,
               startup_timeout: int = 60) -> BuildResult:
    """Build the lock of *notebook*; write it to *target* if given.

    With ``execute=True`` the notebook runs in a fresh kernel (see the module
    docstring); *timeout* is nbclient's per-cell limit in seconds (None: no
    limit), *kernel_name* defaults to the notebook's kernelspec. *nb* is the
    notebook's content when the caller has already read it. *work_dir* is
    where the kernel writes its temporary lock (default: *target*'s folder,
    else the notebook's).

    With ``execute=False`` the lock beside the notebook is re-emitted as is,
    after checking that its ``workflow.checksum`` matches the notebook.

    Raises :class:`CellFailed` when a cell raises, :class:`BuildError` for
    timeouts, dead kernels or a missing lock, :class:`StaleLockError` for a
    stale lock, and :class:`NotelockError` (exit 2) for unusable input.
    Whatever fails, an existing lock at *target* is left byte-identical.
    """
    path = Path(notebook).absolute()
    target_path = Path(target).absolute() if target is not None else None
    started = time.perf_counter()
    if not execute:
        data, lock = existing_lock(path)
        warnings: list[str] = []
    else:
        if nb is None:
            nb = read_notebook(path)
        if work_dir is None:
            work_dir = target_path.parent if target_path is not None else path.parent
        data, lock, warnings = _execute(path, nb, Path(work_dir), timeout=timeout, kernel_name=kernel_name,
                                        startup_timeout=startup_timeout)
    if target_path is not None:
        _put_in_place(target_path, data, lock)
    return BuildResult(notebook=path, data=data, lock=lock, path=target_path, executed=execute,
                       seconds=round(time.perf_counter() - started, 3), warnings=warnings)


def _put_in_place(target: Path, data: bytes, lock: dict[str, Any]) -> None:
    """Replace *target* with *data* atomically, under its file lock, keeping
    the version it replaces in the store's history as a kernel's write would."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target):
        try:
            old = target.read_bytes()
        except FileNotFoundError:
            old = None
        if old == data:
            return
        if old is not None:
            try:

                keep_version(target, old, session=(lock.get("run") or {}).get("session"))
            except Exception:  # noqa: BLE001 - keeping history must never block the write
                pass
        atomic_write_bytes(target, data)


def existing_lock(notebook: Path) -> tuple[bytes, dict[str, Any]]:
    """The lock beside *notebook*, checked against the notebook's current checksum."""
    lock_path = lock_path_for(notebook)
    if not notebook.exists():
        raise NotelockError(f"{notebook}: no such notebook")
    try:
        data = lock_path.read_bytes()
    except FileNotFoundError:
        raise LockFileError(f"{lock_path.name}: no lock beside {notebook.name};"
                            f" build it with: notelock lock {notebook.name}") from None
    except OSError as err:
        raise LockFileError(f"{lock_path}: cannot read: {err.strerror or err}") from None
    lock = loads_lock(data, lock_path.name)
    recorded = (lock.get("workflow") or {}).get("checksum")
    # the same checksum the kernel records (nbstripout keys from git config included)
    current = WorkflowTracker(notebook).snapshot(None).get("checksum")
    if current is None:
        raise NotelockError(f"{notebook.name}: cannot compute the notebook's checksum")
    if recorded != current:
        what = "records no notebook checksum" if recorded is None else \
            f"was recorded from another version of the notebook (checksum {recorded[:12]}, now {current[:12]})"
        raise StaleLockError(f"{lock_path.name} {what}; refresh it with: notelock lock {notebook.name}"
                             f" (or jupyter nbconvert --to lockfile {notebook.name})")
    return data, lock


def _execute(path: Path, nb: Any, work_dir: Path, *, timeout: int | None, kernel_name: str | None,
             startup_timeout: int) -> tuple[bytes, dict[str, Any], list[str]]:
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    loads, has_lock_cells = notebook_mode(nb)
    work_dir.mkdir(parents=True, exist_ok=True)
    # what killed builds left here is cleared first; the name is fresh and
    # not created: a file there would be "replaced" by the kernel's first
    # write, and the store would keep it as a lock version
    remove_stale_temporaries(work_dir)
    tmp = build_temp_path(work_dir)
    env = {k: v for k, v in os.environ.items() if k not in protocol.DRIVER_VARIABLES}
    env.update(protocol.kernel_settings(notebook=str(path), lock_path=str(tmp),
                                        lock_all=not loads and not has_lock_cells))
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silences a debugger warning on every start
    extra: list[str] = []
    if not loads:
        # loaded by the kernel app, not by a cell: nothing extra is recorded
        extra.append("--InteractiveShellApp.extensions=notelock")
    current: dict[str, int] = {}
    kwargs: dict[str, Any] = {}
    if kernel_name:
        kwargs["kernel_name"] = kernel_name
    client = NotebookClient(nb, timeout=timeout, startup_timeout=startup_timeout, allow_errors=False,
                            extra_arguments=extra, resources={"metadata": {"path": str(path.parent)}},
                            on_cell_execute=lambda cell, cell_index: current.update(index=cell_index),
                            **kwargs)
    # the kernel's own stderr (start-up noise, an extension that failed to
    # load) is kept aside and quoted only when the build fails because of it
    kernel_log = tempfile.TemporaryFile()
    try:
        try:
            client.km = client.create_kernel_manager()
            with client.setup_kernel(env=env, cwd=str(path.parent), stderr=kernel_log):
                assert client.kc is not None
                info = client.wait_for_reply(client.kc.kernel_info())
                if info is not None and "language_info" in info["content"]:
                    nb.metadata["language_info"] = info["content"]["language_info"]
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                # silent: no pre/post_run_cell events, nothing recorded, nothing shown
                client.wait_for_reply(client.kc.execute(FLUSH_CODE, silent=True, store_history=False))
        except NoSuchKernel as err:
            raise NotelockError(f"{path.name}: no kernel named {err.args[0]!r} (see: jupyter kernelspec list)") from None
        except CellExecutionError as err:
            index = current.get("index", -1)
            count = nb.cells[index].get("execution_count") if index >= 0 else None
            where = f"cell {index + 1}" + (f" (In [{count}])" if count else "")
            raise CellFailed(f"{path.name}: {where} raised {err.ename}: {err.evalue}", notebook=path,
                             cell_number=index + 1, execution_count=count,
                             ename=err.ename, evalue=err.evalue) from err
        except CellTimeoutError:
            index = current.get("index", -1)
            raise BuildError(f"{path.name}: cell {index + 1} did not finish within {timeout} s"
                             " (raise --timeout)") from None
        except DeadKernelError as err:
            raise BuildError(f"{path.name}: the kernel died ({err}){_last_error(kernel_log)}") from None
        except RuntimeError as err:  # nbclient's kernel start-up failures
            raise BuildError(f"{path.name}: {err}{_last_error(kernel_log)}") from None
        data = tmp.read_bytes() if tmp.exists() else b""
        if not data.strip():
            raise BuildError(f"{path.name}: the kernel recorded no lock"
                             + (" (the notebook has no code cells)" if not _executed_counts(nb)
                                else f" (is notelock importable in the kernel?){_last_error(kernel_log)}"))
        lock = loads_lock(data, lock_path_for(path).name)
        _check_complete(path, nb, lock)
        return data, lock, _kernel_warnings(nb)
    finally:
        kernel_log.close()
        _remove_temporaries(tmp)


def _last_error(log: Any) -> str:
    """``: <last line that looks like an error>`` of the kernel's stderr, or ``""``."""
    try:
        log.seek(0)
        lines = log.read().decode("utf-8", "replace").splitlines()
    except (OSError, ValueError):
        return ""
    errors = [ln.strip() for ln in lines if "Error" in ln or "error" in ln]
    return f": kernel says: {errors[-1][:300]}" if errors else ""


def _executed_counts(nb: Any) -> list[int]:
    return [c["execution_count"] for c in nb.cells
            if c.get("cell_type") == "code" and isinstance(c.get("execution_count"), int)]


def _check_complete(path: Path, nb: Any, lock: dict[str, Any]) -> None:
    """The lock must cover the last executed cell: the kernel writes the
    last cells at exit, and a kernel killed before then leaves an older lock."""
    counts = _executed_counts(nb)
    recorded = [c.get("execution_count") for c in lock.get("cells", [])]
    if counts and (not recorded or recorded[-1] != max(counts)):
        last = recorded[-1] if recorded else None
        raise BuildError(f"{path.name}: the lock ends at In [{last}] but the notebook ran to In [{max(counts)}]"
                         " (the kernel did not write its last cells; did it exit cleanly, or unload notelock?)")


def _kernel_warnings(nb: Any) -> list[str]:
    lines: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", ()):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                lines += [ln for ln in out.get("text", "").splitlines() if ln.startswith("notelock:")]
    return list(dict.fromkeys(lines))


def _remove_temporaries(tmp: Path) -> None:
    # the temporary lock and its file-lock sidecar
    for path in (tmp, lock_sidecar(tmp)):
        try:
            path.unlink()
        except OSError:
            pass


__all__ = ["build_lock", "existing_lock", "notebook_mode", "read_notebook", "BuildResult", "BuildError",
           "CellFailed", "StaleLockError", "FLUSH_CODE"]
