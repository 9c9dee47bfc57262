"""Broadcast preview: "send to N contacts" for the current query or the marked contacts, split across
channels by the shared resolver. Nothing is sent. The work runs in a thread worker with progress and
stops when the screen closes."""

from __future__ import annotations

import threading
import time

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, ProgressBar, Static

from ccconsole.core.routing import Breakdown
from ccconsole.tui import safe
from ccconsole.tui.base import UsesWorkspace, failure_text

PROGRESS_SECONDS = 0.1  # at most ten progress updates a second reach the screen


class BroadcastPreview(UsesWorkspace, ModalScreen[None]):
    """The split of one send request; ``query`` (None: all contacts) or ``contact_ids`` (marked)."""

    BINDINGS = [("escape,q,b", "close", "Close")]

    class Progressed(Message):
        def __init__(self, done: int, total: int):
            super().__init__()
            self.done, self.total = done, total

    class Done(Message):
        def __init__(self, result: Breakdown | None, error: str | None = None):
            super().__init__()
            self.result, self.error = result, error

    def __init__(self, *, query: str | None = None, contact_ids: list[int] | None = None,
                 total: int | None = None):
        super().__init__()
        self.query_text = query
        self.contact_ids = contact_ids
        self.total = total
        self.result: Breakdown | None = None
        self._stop = threading.Event()

    @property
    def target(self) -> str:
        if self.contact_ids is not None:
            return f"the {len(self.contact_ids):,} marked contact{'s' if len(self.contact_ids) != 1 else ''}"
        return f"contacts matching {self.query_text}" if self.query_text else "all contacts"

    def compose(self) -> ComposeResult:
        with Vertical(id="broadcast"):
            yield Label(safe.content(f"Broadcast preview — {self.target} (nothing is sent; esc closes)"),
                        id="broadcast-title", markup=False)
            yield ProgressBar(total=self.total, show_eta=False, id="broadcast-progress")
            yield Static("Working out the routes…", id="broadcast-body", markup=False)

    def on_mount(self) -> None:
        self._compute()

    @work(thread=True, exclusive=True, exit_on_error=False, group="broadcast")
    def _compute(self) -> None:
        from ccconsole.app.broadcast import Cancelled

        last = [0.0]

        def progress(done: int, total: int) -> None:
            if self._stop.is_set():
                raise Cancelled()
            now = time.monotonic()
            if now - last[0] >= PROGRESS_SECONDS or done == total:
                last[0] = now
                self.post_message(self.Progressed(done, total))

        try:
            result = self.workspace.broadcast.preview(query=self.query_text, contact_ids=self.contact_ids,
                             progress=progress, total=self.total)
        except Cancelled:
            return
        except Exception as err:  # a bad query or a database problem: a message, not a crash
            self.post_message(self.Done(None, f"Could not preview the broadcast: {failure_text(err)}"))
            return
        self.post_message(self.Done(result))

    def on_broadcast_preview_progressed(self, message: Progressed) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=message.total, progress=message.done)

    def on_broadcast_preview_done(self, message: Done) -> None:
        body = self.query_one("#broadcast-body", Static)
        self.query_one(ProgressBar).display = False
        if message.error:
            body.update(safe.content(safe.visible(message.error)))
            body.add_class("error")
            return
        assert message.result is not None  # done without an error
        self.result = message.result
        body.update(Content("\n").join([safe.content(line) for line in message.result.lines()]))

    def action_close(self) -> None:
        self._stop.set()
        self.dismiss(None)
