"""The lock-ins bulk action: confirm clearing or moving affinities, then follow its progress."""

from __future__ import annotations

import threading
import time

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Label,
    ProgressBar,
    RadioButton,
    RadioSet,
    Select,
)

from ccconsole.tui import safe
from ccconsole.tui.base import UsesWorkspace, failure_text
from ccconsole.tui.widgets.form import ErrorLine
from ccconsole.tui.widgets.toggles import MarkedRadioButton


class BulkAffinity(UsesWorkspace, ModalScreen[str | None]):
    """Confirm clearing or moving affinities, for a few rows or everything listed; then progress with
    rows per second and Cancel. Returns a summary, or None when nothing was done."""

    BINDINGS = [("escape", "cancel", "Cancel")]
    AUTO_FOCUS = "#bulk-cancel"  # enter does nothing destructive by accident

    class Progress(Message):
        def __init__(self, done: int, total: int):
            super().__init__()
            self.done, self.total = done, total

    class Finished(Message):
        def __init__(self, summary: str | None, error: str | None = None):
            super().__init__()
            self.summary, self.error = summary, error

    def __init__(self, verb: str, some: tuple[str, list[int]], listing: dict, total: int | None,
                 targets: list, current_channel: int | None):
        super().__init__()
        self.verb, self.some, self.listing, self.total = verb, some, listing, total
        self.targets = [ch for ch in targets if ch.id != current_channel]
        self._stop = threading.Event()
        self._busy = False
        self._started = 0.0

    def compose(self) -> ComposeResult:
        title = "Clear affinities" if self.verb == "clear" else "Move affinities to another channel"
        everything = f"everything listed ({self.total:,})" if self.total is not None else "everything listed"
        with Vertical(id="bulk"):
            yield Label(title, id="editor-title")
            yield Label("Which:", classes="section")
            with RadioSet(id="bulk-scope"):
                yield MarkedRadioButton(safe.content(self.some[0]), value=True, id="scope-some")
                yield MarkedRadioButton(safe.content(everything), id="scope-all")
            if self.verb == "move":
                yield Label("To:", classes="section")
                yield Select([(safe.content(f"{ch.name} ({','.join(ch.schemes)})"), ch.id) for ch in self.targets],
                             prompt="choose a channel", id="bulk-target")
            yield Label(safe.content(
                "Routing then follows the normal rules." if self.verb == "clear" else
                "The contacts are then locked in to that channel; every change is audited."),
                classes="hint")
            yield ErrorLine(id="bulk-error")
            yield ProgressBar(id="bulk-progress", show_eta=False)
            yield Label("", id="bulk-rate")
            with Horizontal(id="editor-buttons"):
                yield Button("Cancel (esc)", id="bulk-cancel", variant="primary")
                yield Button("Clear" if self.verb == "clear" else "Move", id="bulk-go", variant="error")

    def on_mount(self) -> None:
        self.query_one("#bulk-progress").display = False

    @on(Button.Pressed, "#bulk-cancel")
    def action_cancel(self) -> None:
        if self._busy:
            self._stop.set()  # the worker stops after the chunk it is writing
            self.query_one("#bulk-rate", Label).update("Cancelling after the current chunk…")
        else:
            self.dismiss(None)

    @on(Button.Pressed, "#bulk-go")
    def _go(self) -> None:
        target = None
        if self.verb == "move":
            value = self.query_one("#bulk-target", Select).value
            if value is Select.BLANK:
                self.query_one("#bulk-error", ErrorLine).show("Choose the channel to move them to.")
                return
            target = value
        everything = self.query_one("#scope-all", RadioButton).value
        self._busy = True
        self._started = time.monotonic()
        self.query_one("#bulk-go", Button).disabled = True
        self.query_one("#bulk-scope").disabled = True
        self.query_one("#bulk-progress").display = True
        self._run(None if everything else self.some[1], target)

    @work(thread=True, exclusive=True, exit_on_error=False, group="bulk-affinity")
    def _run(self, ids: list[int] | None, target: int | None) -> None:
        ws = self.workspace
        try:
            if ids is None:
                ids = ws.lockins.connection_ids(**self.listing)
            progress = lambda done, total: self.post_message(self.Progress(done, total))  # noqa: E731
            if self.verb == "clear":
                result = ws.lockins.clear(ids, progress=progress, cancelled=self._stop.is_set)
            else:
                assert target is not None  # _go asked for it
                result = ws.lockins.move(ids, target, progress=progress, cancelled=self._stop.is_set)
        except Exception as err:
            self.post_message(self.Finished(None, failure_text(err)))
            return
        verb = "Cleared" if self.verb == "clear" else "Moved"
        summary = f"{verb} {result.done:,} affinities"
        if result.skipped:
            summary += f"; {result.skipped:,} unchanged"
        if result.cancelled:
            summary += " (cancelled: run it again to finish)"
        self.post_message(self.Finished(summary))

    def on_bulk_affinity_progress(self, message: Progress) -> None:
        bar = self.query_one("#bulk-progress", ProgressBar)
        bar.update(total=message.total, progress=message.done)
        rate = message.done / max(time.monotonic() - self._started, 1e-6)
        if not self._stop.is_set():
            self.query_one("#bulk-rate", Label).update(f"{message.done:,} of {message.total:,} · {rate:,.0f}/s")

    def on_bulk_affinity_finished(self, message: Finished) -> None:
        self._busy = False
        if message.error:
            self.query_one("#bulk-error", ErrorLine).show(message.error)
            self.query_one("#bulk-go", Button).disabled = False
            self.query_one("#bulk-scope").disabled = False
            return
        self.dismiss(message.summary)
