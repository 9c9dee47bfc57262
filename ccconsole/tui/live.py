"""Live refresh and database health for the app: what other consoles changed, and whether the database answers.

* SQLite: a worker polls ``workspace.change_seq`` every 0.25 s (one indexed read).
* PostgreSQL: a long-running worker LISTENs on a dedicated connection (``Workspace.listener``); the
  writer's NOTIFY arrives within milliseconds of its commit. A slower poll stays as a safety net.

Both post :class:`SeqSeen`; the app turns a *new* sequence into ``DataChanged`` once, whichever path
saw it first. A failure posts :class:`DbStatus` with a one-line reason; the workers back off
(0.25 s doubling to 5 s) and retry, and the first success clears the message and reloads the screens.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message
from textual.worker import get_current_worker

from ccconsole.errors import describe, is_locked

if TYPE_CHECKING:
    from textual.app import App

    from ccconsole.app import Workspace

    _AppBase = App[Any]  # what the mixin is mixed into, for the type checker
else:
    _AppBase = object

BACKOFF_START = 0.25
BACKOFF_MAX = 5.0


class SeqSeen(Message):
    """The database answered with this change sequence (-1: a change of unknown sequence)."""

    def __init__(self, seq: int):
        super().__init__()
        self.seq = seq


class DbStatus(Message):
    """The database stopped answering (``problem`` says why in one line)."""

    def __init__(self, problem: str):
        super().__init__()
        self.problem = problem


def problem_text(err: Exception) -> str:
    err = err.__cause__ if isinstance(err.__cause__, Exception) else err  # the driver's own error
    if is_locked(err):
        return "The database is locked by another program; retrying…"
    return f"Database unreachable ({describe(err)}); reconnecting…"


class LiveRefresh(_AppBase):
    """Mixed into the App: it needs ``self.workspace`` and a ``DataChanged`` message class.

    (A plain mixin: Textual's ``@on`` only registers on its own classes, so handlers go by name.)"""

    DataChanged: type[Message]

    if TYPE_CHECKING:
        @property
        def workspace(self) -> Workspace: ...

    POLL_SECONDS = 0.25
    PG_POLL_SECONDS = 2.0

    db_problem: str | None = None

    def start_watching(self, seen: int | None = None) -> None:
        """Poll (and on PostgreSQL listen) from now on; ``seen``: the change sequence what is on screen
        was read at (a change since then reloads the screens), else the first poll's."""
        self._seen_seq: int | None = seen
        self._poll_failures = 0
        self._poll_resume_at = 0.0
        self.db_problem = None
        listening = self.workspace.backend == "postgresql"
        self.set_interval(self.PG_POLL_SECONDS if listening else self.POLL_SECONDS, self._poll_changes)
        self._poll_changes()  # the baseline now, not half a second after the first load
        if listening:
            self._listen()

    @work(thread=True, exclusive=True, exit_on_error=False, group="poll")
    def _poll_changes(self) -> None:
        """One indexed read of the change sequence; after a failure, wait longer before the next."""
        if time.monotonic() < self._poll_resume_at:
            return
        try:
            seq = self.workspace.change_seq()
        except Exception as err:
            self._poll_failures += 1
            delay = min(BACKOFF_MAX, BACKOFF_START * 2 ** self._poll_failures)
            self._poll_resume_at = time.monotonic() + delay
            self.post_message(DbStatus(problem_text(err)))
            return
        self._poll_failures = 0
        self.post_message(SeqSeen(seq))

    @work(thread=True, exclusive=True, exit_on_error=False, group="listen")
    def _listen(self) -> None:
        """PostgreSQL LISTEN on a dedicated connection, reconnecting with a back-off until cancelled."""
        worker = get_current_worker()
        delay = BACKOFF_START
        while not worker.is_cancelled:
            listener = None
            try:
                listener = self.workspace.listener()
                assert listener is not None  # this worker runs on PostgreSQL only
                # whatever happened while we were not listening
                self.post_message(SeqSeen(self.workspace.change_seq()))
                delay = BACKOFF_START
                while not worker.is_cancelled:
                    for seq in listener.changes(timeout=0.5):
                        self.post_message(SeqSeen(seq))
                    listener.ping()
            except Exception as err:
                if worker.is_cancelled:
                    break
                self.post_message(DbStatus(problem_text(err)))
                end = time.monotonic() + delay
                while time.monotonic() < end and not worker.is_cancelled:
                    time.sleep(0.05)
                delay = min(BACKOFF_MAX, delay * 2)
            finally:
                if listener is not None:
                    listener.close()

    def on_seq_seen(self, message: SeqSeen) -> None:
        recovered = self.db_problem is not None
        if recovered:
            self.db_problem = None
            self._db_status_changed()
            self.notify("Database reachable again.", markup=False)
        seq = message.seq
        if seq < 0 or recovered or (self._seen_seq is not None and seq > self._seen_seq):
            self.post_message(self.DataChanged())
        if seq >= 0 and (self._seen_seq is None or seq > self._seen_seq):
            self._seen_seq = seq

    def on_db_status(self, message: DbStatus) -> None:
        first = self.db_problem is None
        self.db_problem = message.problem
        self._db_status_changed()
        if first:
            self.notify(message.problem + " What you typed is kept.", severity="error", markup=False,
                        timeout=8)

    def _db_status_changed(self) -> None:
        for screen in self.screen_stack:
            hook = getattr(screen, "db_status_changed", None)
            if hook is not None:
                hook()
