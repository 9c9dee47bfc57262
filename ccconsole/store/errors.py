"""Errors the store raises for people to read (the command line and the console show the text)."""

from __future__ import annotations


class StoreError(Exception):
    """A problem a person can act on: the message is the whole story, no traceback needed."""


class NotFound(StoreError):
    pass


class ValidationFailed(StoreError):
    """The form is invalid; ``errors`` maps a field (``name``, ``connections.2``, ...) to its message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class Conflict(StoreError):
    """Someone else saved the contact since it was loaded (optimistic concurrency).

    ``current`` is the contact as it is now (a ContactView) when the store knows it.
    """

    def __init__(self, message: str, current=None):
        super().__init__(message)
        self.current = current


class RaceLost(Conflict):
    """Another transaction wrote the same unique thing (a connection identity) at the same moment."""
