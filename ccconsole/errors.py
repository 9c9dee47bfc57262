"""The errors every front end shows, and THE one translation of database errors into them.

Use cases raise these (or let :func:`translate` turn a driver's error into one); the console shows
the message in a toast or beside the field, the command line prints it as one line, the API as a
400/404/409. The message is the whole story: no traceback, no SQL, what to do next.
"""

from __future__ import annotations

from typing import Any


class StoreError(Exception):
    """A problem a person can act on: the message is the whole story, no traceback needed."""


class NotFound(StoreError):
    pass


class ReadOnly(StoreError):
    """A change was asked of a workspace opened read-only."""


class ValidationFailed(StoreError):
    """The form is invalid; ``errors`` maps a field (``name``, ``urns.2``, ...) to its message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class Conflict(StoreError):
    """Someone else saved the contact since it was loaded (optimistic concurrency).

    ``current`` is the contact as it is now (a ContactView) when the store knows it.
    """

    def __init__(self, message: str, current: Any = None):
        super().__init__(message)
        self.current = current


class RaceLost(Conflict):
    """Another transaction wrote the same unique thing (a connection identity) at the same moment."""


class Unreachable(StoreError):
    """The database does not answer (stopped, restarting, network down): try again later."""


SQLITE_BUSY_SECONDS = 15.0  # how long a SQLite writer waits for another program's lock before giving up

RACE_TEXT = "Another change took the same connection at the same moment; nothing was saved. Try again."


def describe(err: BaseException) -> str:
    """One line for a database error, without SQL or a traceback."""
    orig = getattr(err, "orig", None) or err
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__


def is_race(err: BaseException) -> bool:
    """A PostgreSQL deadlock or serialization failure: the transaction lost a race and may be retried."""
    return getattr(getattr(err, "orig", None), "sqlstate", None) in ("40P01", "40001")


def is_unreachable(err: BaseException) -> bool:
    """The database server cannot be reached (stopped, restarting, network down)."""
    orig = getattr(err, "orig", None) or err
    text = str(orig).lower()
    sqlstate = getattr(orig, "sqlstate", None) or ""
    return bool(getattr(err, "connection_invalidated", False) or sqlstate.startswith("08")
                or sqlstate in ("57P01", "57P02", "57P03")
                or any(s in text for s in ("connection refused", "server closed the connection",
                                           "terminating connection", "connection failed", "could not connect",
                                           "the database system is", "consuming input failed",
                                           "connection is closed", "no such file or directory")))


def is_locked(err: BaseException) -> bool:
    return "database is locked" in str(getattr(err, "orig", None) or err).lower()


def describe_failure(err: BaseException) -> str:
    """What a person should know when a database operation failed: one line, what to do."""
    if is_locked(err):
        return (f"The database is locked by another program (waited {SQLITE_BUSY_SECONDS:g} s); "
                "nothing was saved. Try again in a moment.")
    if is_unreachable(err):
        return f"Cannot reach the database ({describe(err)}); nothing was saved. Try again when it is back."
    return f"Database error: {describe(err)}"


def translate(err: BaseException) -> StoreError | None:
    """THE translation of a database driver's error into the error people see (None: not one of ours
    to translate, let it propagate). Reads and writes both come through here."""
    if isinstance(err, StoreError):
        return err
    from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

    if isinstance(err, IntegrityError):
        return RaceLost(RACE_TEXT)
    if isinstance(err, DBAPIError) and is_race(err):
        return RaceLost("Another change to the same contact happened at the same moment; nothing was saved. "
                        "Try again.")
    if isinstance(err, SQLAlchemyError):
        if is_unreachable(err):
            return Unreachable(describe_failure(err))
        return StoreError(describe_failure(err))
    return None
