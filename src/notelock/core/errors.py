"""One error family for the whole project.

The core raises these; each face translates them (a one-line message in the
notebook, an HTTP status with a JSON message, a CLI exit code).
"""

from __future__ import annotations


class NotelockError(Exception):
    """Base class of every error notelock raises on purpose.

    ``str(err)`` is always a single line fit to show a user as is.
    """

    exit_code = 2

    def __str__(self) -> str:  # keep messages to one line, whatever was passed in
        text = super().__str__()
        return " ".join(text.split())


class LockFileError(NotelockError):
    """A lock file is missing, unreadable, truncated or does not validate."""


class StoreError(NotelockError):
    """The content store is missing an object or holds a corrupted one."""


class HashingError(NotelockError):
    """A value could not be hashed (only raised where a fallback is not allowed)."""


class DriftError(NotelockError):
    """A read's source no longer matches what the lock recorded (strict mode).

    Raised from inside an intercepted read, it stops the user's cell at that
    read (``propagate``): that is the point of strict mode.
    """

    exit_code = 1
    propagate = True


class UsageError(NotelockError):
    """Bad arguments given to a face (CLI flags, magic options, request parameters)."""
