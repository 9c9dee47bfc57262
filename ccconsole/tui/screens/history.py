"""A contact's history: its messages (in and out) and the audited changes to its connections,
newest first. Follows live changes like every screen."""

from __future__ import annotations

from datetime import datetime
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
        self.stamp = "%Y-%m-%d %H:%M"
        self.text_width = self.change_width = 40
        self.contact_id = contact_id
        self.contact_name = name

    def compose(self) -> ComposeResult:
        yield Static(safe.content(f" History of {self.contact_name or '(no name)'} — newest first"), id="title-bar")
        yield DataTable(id="messages", cursor_type="row", zebra_stripes=True,
                        cursor_foreground_priority="css")
        yield DataTable(id="changes", cursor_type="row", zebra_stripes=True,
                        cursor_foreground_priority="css")
        yield KeyFooter()

    def on_mount(self) -> None:
        narrow = self.app.size.width < 110
        self.stamp = "%m-%d %H:%M" if narrow else "%Y-%m-%d %H:%M"
        messages = self.query_one("#messages", DataTable)
        widths = (11 if narrow else 16, 2, 12 if narrow else 14, 14 if narrow else 20)
        messages.add_column("When", width=widths[0])
        messages.add_column("", width=widths[1])
        messages.add_column("Channel", width=widths[2])
        messages.add_column("Connection", width=widths[3])
        self.text_width = max(20, self.app.size.width - 4 - 2 * 5 - sum(widths))
        messages.add_column("Text", width=self.text_width)  # wraps: rows grow instead of cutting the text
        messages.border_title = "Messages"
        changes = self.query_one("#changes", DataTable)
        cwidths = (widths[0], 10, 16)
        changes.add_column("When", width=cwidths[0])
        changes.add_column("Who", width=cwidths[1])
        changes.add_column("What", width=cwidths[2])
        self.change_width = max(20, self.app.size.width - 4 - 2 * 4 - sum(cwidths))
        changes.add_column("Connections", width=self.change_width)
        changes.border_title = "Connection changes (audit)"
        self.refresh_data()

    def _zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.workspace.info.timezone)
        except Exception:
            return ZoneInfo("UTC")

    def _zone_label(self) -> str:
        return datetime.now(self._zone()).strftime("%Z")

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
        zone = self._zone()
        messages_title = f"Messages · times in {self._zone_label()}"
        country = self.workspace.info.country
        found = message.found
        assert found is not None  # loaded without an error
        messages = self.query_one("#messages", DataTable)
        keep = messages.cursor_row
        messages.clear()
        for m in found.messages:
            messages.add_row(
                safe.text(m.when.astimezone(zone).strftime(self.stamp)),
                Text("←" if m.direction == "in" else "→", style="cyan" if m.direction == "in" else "#ff87ff"),
                safe.text(m.channel), safe.text(urnlib.display_identity(m.identity, country) if ":" in m.identity
                                                else m.identity),
                safe.text(m.text, wrap=True), key=str(m.id), height=None)
        messages.border_title = safe.content(messages_title)
        messages.border_subtitle = safe.content(f"{len(found.messages):,} · ← in  → out")
        if found.messages:
            messages.move_cursor(row=min(keep, len(found.messages) - 1), animate=False)
        changes = self.query_one("#changes", DataTable)
        keep = changes.cursor_row
        changes.clear()
        for c in found.changes:
            changes.add_row(
                safe.text(c.when.astimezone(zone).strftime(self.stamp)), safe.text(c.actor),
                safe.text(c.action), Text("\n").join(safe.text(line, wrap=True) for line in c.lines),
                key=str(c.id), height=None)
        changes.border_subtitle = safe.content(f"{len(found.changes):,}")
        if found.changes:
            changes.move_cursor(row=min(keep, len(found.changes) - 1), animate=False)

    def action_back(self) -> None:
        self.app.pop_screen()
