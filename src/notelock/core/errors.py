"""One error family for the whole project.

The core raises these; each face translates them (a one-line message in the
notebook, an HTTP status with a JSON message, a CLI exit code).
"""

from __future__ import annotations


class NotelockError(Exception):
    """Base class of every error notelock raises on purpose.

    ``str(err)`` is always a single line fit to show a user as is.
    """

    #: the CLI's exit code (2: the input cannot be used; 1: a check failed)
    exit_code = 2
    #: the REST API's HTTP status
    http_status = 422
    #: raised inside an intercepted call (a read), stop the user's cell there
    #: instead of being reported and swallowed
    propagate = False

    def __str__(self) -> str:  # keep messages to one line, whatever was passed in
        text = super().__str__()
        return " ".join(text.split())


class LockFileError(NotelockError):
    """A lock file is missing, unreadable, truncated, does not validate, or
    no longer matches its own identities (edited by hand)."""

    http_status = 422  # the file is there but is not a usable lock


class NotFoundError(NotelockError):
    """A notebook, lock, history version or object that was named does not exist."""

    http_status = 404


class LockNotFound(LockFileError, NotFoundError):
    """The lock file that was named does not exist."""

    http_status = 404


class StoreError(NotelockError):
    """The content store is missing an object or holds a corrupted one."""

    http_status = 500


class ReplayStopped(StoreError):
    """A replay cannot go on (a pinned object is missing): stops the cell at the read."""

    propagate = True


class HashingError(NotelockError):
    """A value could not be hashed (only raised where a fallback is not allowed)."""


class DriftError(NotelockError):
    """A read's source no longer matches what the lock recorded (strict mode).

    Raised from inside an intercepted read, it stops the user's cell at that
    read (``propagate``): that is the point of strict mode.
    """

    exit_code = 1
    http_status = 409
    propagate = True


class UsageError(NotelockError):
    """Bad arguments given to a face (CLI flags, magic options, request parameters)."""

    http_status = 400


class BusyError(NotelockError):
    """A limit on concurrent work was reached (try again later)."""

    http_status = 429


def http_status(err: BaseException) -> int:
    """The HTTP status a face answers with for *err* (500 for anything unexpected)."""
    return err.http_status if isinstance(err, NotelockError) else 500


def exit_code(err: BaseException) -> int:
    """The CLI exit code for *err*."""
    return err.exit_code if isinstance(err, NotelockError) else 2
