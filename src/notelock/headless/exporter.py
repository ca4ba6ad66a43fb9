"""``jupyter nbconvert --to lockfile``: the lock of a fresh run of a notebook.

The exporter executes the notebook in a fresh kernel with notelock loaded
(see :mod:`notelock.headless.build`, shared with ``notelock lock``) and emits the lock
file, so ``jupyter nbconvert --to lockfile fraud.ipynb`` writes
``fraud.lock.json`` beside the notebook (``--output``, ``--output-dir`` and
``--stdout`` work as for any format). ``--LockfileExporter.execute=False``
re-emits the lock the notebook already has after checking it is not stale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbconvert.exporters.exporter import Exporter
from nbconvert.utils.exceptions import ConversionException
from traitlets import Bool, Integer, Unicode, default

from ..core.errors import NotelockError
from ..core.lockfile import LOCK_SUFFIX
from .build import CellFailed, build_lock


class LockfileExportError(ConversionException):
    """The lock could not be built (nbconvert reports it and exits with status 1)."""


class LockfileExporter(Exporter):
    """Build a notebook's notelock lock file by running it in a fresh kernel.

    A notebook that loads notelock itself runs exactly as written; any other
    notebook gets every cell recorded as if it were ``%%lock``. A failing
    cell fails the export and no lock is written. Execution follows
    nbconvert's usual options: ``--ExecutePreprocessor.timeout`` and
    ``--ExecutePreprocessor.kernel_name`` (or this exporter's own traits).
    """

    output_mimetype = "application/json"

    execute = Bool(
        True,
        help="Run the notebook to build its lock. False: re-emit the lock beside the notebook "
             "after checking that its workflow.checksum matches the notebook.",
    ).tag(config=True)

    timeout = Integer(
        None,
        allow_none=True,
        help="Seconds a cell may run (None: ExecutePreprocessor.timeout, whose default is no limit).",
    ).tag(config=True)

    kernel_name = Unicode(
        "",
        help="Kernel to run the notebook in (empty: ExecutePreprocessor.kernel_name, "
             "else the notebook's own kernelspec).",
    ).tag(config=True)

    @default("file_extension")
    def _file_extension_default(self) -> str:
        return LOCK_SUFFIX

    def from_notebook_node(self, nb: Any, resources: dict[str, Any] | None = None,  # type: ignore[override]
                           **kw: Any) -> tuple[str, dict[str, Any]]:
        """Build the lock of the notebook that *resources* locate; return its JSON text."""
        import copy

        from nbclient.exceptions import CellExecutionError

        nb_copy = copy.deepcopy(nb)
        resources = self._init_resources(resources)
        meta = resources.get("metadata") or {}
        folder = Path(meta.get("path") or ".")
        notebook = folder / f"{meta.get('name') or 'Notebook'}.ipynb"
        timeout, kernel_name, startup_timeout = self._execution_options()
        try:
            result = build_lock(notebook, nb=nb_copy, execute=self.execute, work_dir=self._work_dir(folder),
                                timeout=timeout, kernel_name=kernel_name, startup_timeout=startup_timeout)
        except CellFailed as err:
            # nbconvert's usual failure (it names the cell and shows its source),
            # prefixed with notelock's one line naming the cell's position
            cause = err.__cause__
            raise CellExecutionError(f"{err}\n\n{cause}", err.ename, err.evalue) from None
        except NotelockError as err:
            raise LockfileExportError(str(err)) from None
        for line in result.warnings:
            self.log.warning("%s", line)
        self._fix_output_name(resources)
        return result.data.decode("utf-8"), resources

    # ------------------------------------------------------------ helpers
    def _execution_options(self) -> tuple[int | None, str | None, int]:
        """Timeout, kernel and start-up timeout: own traits first, then the
        ExecutePreprocessor/NotebookClient config nbconvert users already pass."""
        from nbconvert.preprocessors import ExecutePreprocessor

        ep = ExecutePreprocessor(config=self.config)
        timeout = self.timeout if self.timeout is not None else ep.timeout
        if timeout is not None and timeout < 0:  # nbclient's spelling of "no limit"
            timeout = None
        return timeout, (self.kernel_name or ep.kernel_name or None), ep.startup_timeout

    def _work_dir(self, notebook_folder: Path) -> Path:
        # The kernel writes its temporary lock where the result goes, so that
        # anything kept beside a lock (the .notelock store) lands there too.
        build_dir = self.config.get("FilesWriter", {}).get("build_directory")
        return Path(build_dir) if isinstance(build_dir, str) and build_dir else notebook_folder

    @staticmethod
    def _fix_output_name(resources: dict[str, Any]) -> None:
        # nbconvert strips only the last extension of --output, so
        # "--output fraud.lock.json" would give fraud.lock.json.lock.json
        key = resources.get("unique_key")
        if isinstance(key, str):
            for suffix in (LOCK_SUFFIX, ".lock"):
                if key.endswith(suffix) and len(key) > len(suffix):
                    resources["unique_key"] = key[: -len(suffix)]
                    break


__all__ = ["LockfileExporter", "LockfileExportError"]
