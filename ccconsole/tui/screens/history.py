"""A contact's history: its messages (in and out) and the audited changes to its connections,
newest first. Follows live changes like every screen."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from ccconsole.app import history
from ccconsole.core import urns as urnlib
from ccconsole.tui import actions, safe
from ccconsole.tui.base import UsesWorkspace, failure_text
from ccconsole.tui.widgets.footer import KeyFooter


class HistoryScreen(UsesWorkspace, Screen):
    BINDINGS = actions.bindings("history")
    AUTO_FOCUS = "#messages"

    class Loaded(Message):
        def __init__(self, found: history.History | None, error: str | None = None):
            super().__init__()
            self.found, self.error = found, error

    def __init__(self, contact_id: int, name: str):
        super().__init__()
        self.contact_id = contact_id
        self.contact_name = name

    def compose(self) -> ComposeResult:
        yield Static(safe.content(f" History of {self.contact_name or '(no name)'} — newest first"), id="title-bar")
        yield DataTable(id="messages", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="changes", cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        messages = self.query_one("#messages", DataTable)
        messages.add_column("When", width=16)
        messages.add_column("", width=2)
        messages.add_column("Channel", width=14)
        messages.add_column("Connection", width=20)
        messages.add_column("Text")
        messages.border_title = "Messages"
        changes = self.query_one("#changes", DataTable)
        changes.add_column("When", width=16)
        changes.add_column("Who", width=10)
        changes.add_column("What", width=16)
        changes.add_column("Connections")
        changes.border_title = "Connection changes (audit)"
        self.refresh_data()

    def refresh_data(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="history")
    def _load(self) -> None:
        try:
            found = self.workspace.history.contact(self.contact_id)
        except Exception as err:
            self.post_message(self.Loaded(None, failure_text(err)))
            return
        self.post_message(self.Loaded(found))

    def on_history_screen_loaded(self, message: Loaded) -> None:
        if message.error:
            self.notify(safe.visible(message.error), severity="error", markup=False)
            return
        try:
            zone = ZoneInfo(self.workspace.info.timezone)
        except Exception:
            zone = ZoneInfo("UTC")
        country = self.workspace.info.country
        found = message.found
        assert found is not None  # loaded without an error
        messages = self.query_one("#messages", DataTable)
        keep = messages.cursor_row
        messages.clear()
        for m in found.messages:
            messages.add_row(
                safe.text(f"{m.when.astimezone(zone):%Y-%m-%d %H:%M}"),
                Text("←" if m.direction == "in" else "→", style="cyan" if m.direction == "in" else "magenta"),
                safe.text(m.channel), safe.text(urnlib.display_identity(m.identity, country) if ":" in m.identity
                                                else m.identity),
                safe.text(m.text), key=str(m.id))
        messages.border_subtitle = safe.content(f"{len(found.messages):,} · ← in  → out")
        if found.messages:
            messages.move_cursor(row=min(keep, len(found.messages) - 1), animate=False)
        changes = self.query_one("#changes", DataTable)
        keep = changes.cursor_row
        changes.clear()
        for c in found.changes:
            changes.add_row(
                safe.text(f"{c.when.astimezone(zone):%Y-%m-%d %H:%M}"), safe.text(c.actor),
                safe.text(c.action), Text("\n").join(safe.text(line) for line in c.lines),
                key=str(c.id), height=len(c.lines))
        changes.border_subtitle = safe.content(f"{len(found.changes):,}")
        if found.changes:
            changes.move_cursor(row=min(keep, len(found.changes) - 1), animate=False)

    def action_back(self) -> None:
        self.app.pop_screen()
