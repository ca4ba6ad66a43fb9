"""What runs inside the user's kernel: the extension, the magics, the recording.

``%load_ext notelock`` calls :func:`load_ipython_extension`, which creates a
:class:`~notelock.kernel.recording.Recording` (the kernel's events turned
into a core ``Session``), registers the magics that hold it, the ``%%lock``
input transformer and the kernel event hooks. Everything notelock keeps for a
shell lives on those objects: :func:`recording_of` finds it from the shell.
"""

from __future__ import annotations

import atexit
import sys
from typing import Any

from .attached import recording_of
from .magics import LockMagics
from .recording import Recording, strip_lock_line


def load_ipython_extension(shell: Any) -> None:
    """Register the magics, the input transformer and the kernel event hooks."""
    if recording_of(shell) is not None:
        return
    recording = Recording(shell)
    shell.register_magics(LockMagics(shell, recording))
    shell.input_transformers_cleanup.append(strip_lock_line)
    shell.events.register("pre_run_cell", recording.pre_run_cell)
    shell.events.register("post_run_cell", recording.post_run_cell)
    atexit.register(recording.at_exit)
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
    frame: Any = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name in ("run_cell_async", "_run_cell", "run_cell") \
                and frame.f_locals.get("self") is shell:
            return True
        frame = frame.f_back
    return False


def unload_ipython_extension(shell: Any) -> None:
    """Remove the hooks; the lock file stays as last written."""
    recording = recording_of(shell)
    if recording is None:
        return
    for event, func in (("pre_run_cell", recording.pre_run_cell), ("post_run_cell", recording.post_run_cell)):
        try:
            shell.events.unregister(event, func)
        except ValueError:
            pass
    if strip_lock_line in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.remove(strip_lock_line)
    recording.close()
    atexit.unregister(recording.at_exit)


__all__ = ["load_ipython_extension", "unload_ipython_extension", "recording_of", "Recording", "LockMagics"]
