"""notelock: a lock file for the computation inside Jupyter notebooks.

``%load_ext notelock`` registers the ``%%lock`` / ``%lock`` magics. Everything
Jupyter-specific is imported lazily so ``import notelock`` stays cheap and the
core can be used without IPython or a server.
"""

from __future__ import annotations

from ._version import __version__

__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython):  # noqa: ANN001 - IPython's signature
    """Register the notelock magics and start recording this kernel session."""
    from .kernel import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython):  # noqa: ANN001
    """Stop recording and remove notelock's hooks from this kernel."""
    from .kernel import unload_ipython_extension as _unload

    _unload(ipython)


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "notelock"}]


def _jupyter_server_extension_points():
    return [{"module": "notelock.server"}]
