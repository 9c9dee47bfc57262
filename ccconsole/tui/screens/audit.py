"""The audit log: who changed what and when — the whole workspace, or one contact's history.

Filters: actor (exact login name), action (a fragment such as ``update`` or ``channel``) and free text
(contact or channel name, actor, or any value before/after). Events load newest first, a page at a
time by key (app/audit.py); moving the cursor onto the last loaded row fetches the next page.
The pane under the table shows the highlighted event field by field.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, Static

from ccconsole.app import audit
from ccconsole.app.audit import AuditEntry
from ccconsole.tui import actions, safe
from ccconsole.tui.base import UsesWorkspace, failure_text
from ccconsole.tui.screens.dialogs import Confirm
from ccconsole.tui.widgets.footer import KeyFooter


class AuditScreen(UsesWorkspace, Screen):
    BINDINGS = actions.bindings("audit")
    AUTO_FOCUS = "DataTable"

    class Loaded(Message):
        def __init__(self, entries: list[AuditEntry], total: int | None, append: bool, error: str | None = None):
            super().__init__()
            self.entries, self.total, self.append, self.error = entries, total, append, error

    def __init__(self, contact_id: int | None = None, contact_name: str | None = None):
        super().__init__()
        self.contact_id = contact_id
        self.contact_name = contact_name
        # the app action that leads here (tui.app.top_level): the workspace's log, not a contact's
        self.top_level = "audit" if contact_id is None else None
        self.entries: list[AuditEntry] = []
        self.total: int | None = None
        self.exhausted = False
        self.fetching = False
        self.narrow = False
        self.what_width = 40


    def compose(self) -> ComposeResult:
        yield Static(id="title-bar")
        with Horizontal(id="audit-filters"):
            yield Label("Actor", classes="audit-label")
            yield safe.SafeInput(id="audit-actor", placeholder="login name", compact=True)
            yield Label("Action", classes="audit-label")
            yield safe.SafeInput(id="audit-action", placeholder="e.g. update, inbound, channel", compact=True)
            yield Label("Text", classes="audit-label")
            yield safe.SafeInput(id="audit-text", placeholder="name, number, value…", compact=True)
        yield DataTable(id="audit", cursor_type="row", zebra_stripes=True,
                        cursor_foreground_priority="css")
        yield Static("", id="audit-detail")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # fixed columns and the rest for "What changed", which wraps (rows grow) instead of being cut
        self.narrow = self.app.size.width < 110
        widths = (11, 8, 14, 12) if self.narrow else (19, 10, 18, 16)
        for title, width in zip(("When", "Who", "Action", "Subject"), widths, strict=True):
            table.add_column(title, width=width)
        self.what_width = max(20, self.app.size.width - 4 - 2 * 5 - sum(widths))
        table.add_column("What changed", width=self.what_width)
        self._update_title()
        self.refresh_data()

    def _update_title(self) -> None:
        what = f"Audit log of {self.contact_name or '(no name)'}" \
            if self.contact_id is not None else "Audit log of the workspace"
        count = "" if self.total is None else f" · {self.total:,} event{'s' if self.total != 1 else ''}"
        zone = datetime.now(self._tz()).strftime("%Z")
        self.query_one("#title-bar", Static).update(safe.content(f" {what}{count} — newest first, times in {zone}"))

    def filters(self) -> dict:
        return {
            "contact_id": self.contact_id,
            "actor": self.query_one("#audit-actor", Input).value.strip() or None,
            "action": self.query_one("#audit-action", Input).value.strip() or None,
            "text": self.query_one("#audit-text", Input).value.strip() or None,
        }

    def refresh_data(self) -> None:
        """Called on mount, when a filter changes and when the data changed elsewhere."""
        self.exhausted = False
        self.fetching = True
        self._load(self.filters(), None, False)

    @work(thread=True, exclusive=True, exit_on_error=False, group="audit")
    def _load(self, filters: dict, before_id: int | None, append: bool) -> None:
        try:
            entries = self.workspace.audit.page(before_id=before_id, **filters)
            total = None if append else self.workspace.audit.count(**filters)
        except Exception as err:
            self.post_message(self.Loaded([], None, append, failure_text(err)))
            return
        self.post_message(self.Loaded(entries, total, append))

    def on_audit_screen_loaded(self, message: Loaded) -> None:
        self.fetching = False
        if message.error:
            self.notify(safe.visible(message.error), severity="error", markup=False)
            return
        table = self.query_one(DataTable)
        if not message.append:
            keep = table.cursor_row
            table.clear()
            self.entries = []
            self.total = message.total
        else:
            keep = table.cursor_row
        if len(message.entries) < audit.PAGE:
            self.exhausted = True
        tz = self._tz()
        for e in message.entries:
            when = e.created_on.astimezone(tz).strftime("%m-%d %H:%M" if self.narrow else "%Y-%m-%d %H:%M:%S")
            what = _cut(e.summary, self.what_width * 3)  # at most three lines; the pane below has it all
            table.add_row(safe.text(when), safe.text(e.actor), safe.text(e.action), safe.text(e.subject),
                          safe.text(what, wrap=True), key=str(e.id), height=None)
        self.entries.extend(message.entries)
        if self.entries:
            table.move_cursor(row=min(max(keep, 0), len(self.entries) - 1))
        self._update_title()
        self._show_detail()

    def _tz(self):
        try:
            return ZoneInfo(self.workspace.info.timezone)
        except Exception:
            return ZoneInfo("UTC")

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()
        if (event.cursor_row >= len(self.entries) - 1 and not self.exhausted and not self.fetching
                and self.entries):
            self.fetching = True
            self._load(self.filters(), self.entries[-1].id, True)

    @property
    def current(self) -> AuditEntry | None:
        table = self.query_one(DataTable)
        if not self.entries or not 0 <= table.cursor_row < len(self.entries):
            return None
        return self.entries[table.cursor_row]

    def _show_detail(self) -> None:
        entry = self.current
        box = self.query_one("#audit-detail", Static)
        if entry is None:
            box.update(safe.content(" No events match." if self.total == 0 else ""))
            return
        lines = [f" {entry.actor} · {entry.action} · {entry.subject} · "
                 f"{entry.created_on.astimezone(self._tz()):%Y-%m-%d %H:%M:%S %Z}"]
        if entry.before is None or entry.after is None:
            lines.append("   " + entry.summary)
        else:
            lines += [f"   {c}" for c in entry.changes] or ["   no visible change"]
        box.update(safe.lines(lines))

    @on(Input.Changed)
    def _filter_changed(self) -> None:
        self.refresh_data()

    @on(Input.Submitted)
    def _filter_submitted(self) -> None:
        self.query_one(DataTable).focus()

    def action_filter(self) -> None:
        self.query_one("#audit-text", Input).focus()

    def action_clear_filters(self) -> None:
        for box in self.query(Input):
            box.value = ""
        self.query_one(DataTable).focus()

    def action_first(self) -> None:
        self.query_one(DataTable).move_cursor(row=0)

    def action_last(self) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=max(0, table.row_count - 1))

    def action_back(self) -> None:
        self.app.pop_screen()

    UNDOABLE = ("contact.merge", "contact.merged", "contact.renormalize", "cleanup.renormalize")

    def action_undo(self) -> None:
        entry = self.current
        if entry is None:
            return
        if entry.action not in self.UNDOABLE:
            self.notify("Only a merge or a re-normalization can be undone.", severity="warning")
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._undo(entry.id)

        self.app.push_screen(Confirm(f"Undo {entry.action} of {entry.subject} (event {entry.id})? The contacts "
                                     "involved get back what they had, unless they changed since."), answer)

    @work(thread=True, exit_on_error=False, group="audit-undo")
    def _undo(self, event_id: int) -> None:
        try:
            result = self.workspace.cleanup.undo(event_id)
        except Exception as err:
            self.app.call_from_thread(self.notify, safe.visible(failure_text(err)), severity="error", markup=False)
            return
        names = ", ".join(c.name or c.uuid for c in result.contacts[:3])
        self.app.call_from_thread(self.notify, safe.visible(f"Undone: {names}"), markup=False)

    def check_action(self, action: str, parameters) -> bool | None:
        spec = actions.by_action("audit", action)
        if spec is not None and spec.mutates and self.console_app.read_only:
            return False
        return True


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
