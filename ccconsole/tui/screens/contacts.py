"""The main screen: the contacts table, the filter bar and the routing preview that follows the cursor."""

from __future__ import annotations

from textual import events, on, work
from textual._context import active_app
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from ccconsole.core.views import RouteView
from ccconsole.tui import actions, safe
from ccconsole.tui.base import UsesWorkspace, failure_text
from ccconsole.tui.widgets.contact_table import ContactTable
from ccconsole.tui.widgets.footer import KeyFooter
from ccconsole.tui.widgets.route_preview import RoutePreview


def canonical_or_none(text: str | None, country: str | None) -> str | None:
    """The canonical form of a (valid) query for the border title."""
    if not text:
        return None
    from ccconsole.core import query  # the parser loads with the first query, not at start-up

    try:
        return query.canonical(query.parse(text, country)) or None
    except query.QueryError:
        return text


class ContactsScreen(UsesWorkspace, Screen):
    BINDINGS = actions.bindings("contacts")
    AUTO_FOCUS = "ContactTable"
    top_level = "contacts"  # the app action that leads here (tui.app.top_level)

    class Routed(Message):
        def __init__(self, contact_id: int, view: RouteView | None, error: str | None = None):
            super().__init__()
            self.contact_id, self.view, self.error = contact_id, view, error

    class Deleted(Message):
        """A delete finished: the contact's name, or why it was not deleted."""

        def __init__(self, name: str, error: str | None = None):
            super().__init__()
            self.name, self.error = name, error

    def __init__(self) -> None:
        # the breakpoint class (-narrow, -wide) for the terminal's width now: Textual sets it on the first
        # resize, which would style every widget a second time before the first frame
        app = active_app.get(None)
        breakpoints = (app.HORIZONTAL_BREAKPOINTS or []) if app is not None else []
        super().__init__(classes=" ".join(self._get_breakpoint_classes(app.size.width, breakpoints))
                         if app is not None else None)
        self._preview_timer: Timer | None = None
        self._highlighted: int | None = None


    def compose(self) -> ComposeResult:
        ws = self.console_app.info  # known before the workspace is open
        yield Static(id="title-bar")
        with Horizontal(id="main"):
            with Vertical(id="table-pane"):
                yield safe.SafeInput(placeholder='query: jane · 0788 38 · tel:+250788383383 · group = "Nurses" '
                                             'AND status = active',
                                 id="filter")
                yield Static(id="filter-status", markup=False)
                yield ContactTable(lambda: self.workspace, country=ws.country, timezone=ws.timezone, id="contacts")
            yield RoutePreview(ws.country, ws.timezone, id="preview")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one("#filter-status", Static).display = False
        table = self.query_one(ContactTable)
        table.border_title = "Contacts"
        self._update_title()
        first = self.console_app.first_rows()
        if first is None:
            table.set_filter(None)
            return
        table.show_first_page(first)  # read at start-up; the workspace opens once they are on screen

    def rows_painted(self) -> bool:
        """The table has been drawn (with the rows it holds: at start-up, the first page)."""
        return self.query_one(ContactTable).painted

    def _update_title(self) -> None:
        ws = self.console_app.info
        table = self.query_one(ContactTable)
        count = table.position_label()
        mode = "  [read-only]" if self.console_app.read_only else ""
        if self.console_app.db_problem:
            mode += "  ⚠ " + self.console_app.db_problem
        head = f" ccconsole · {ws.name}" + (f" ({ws.country})" if ws.country else "") + " · "
        label = self.console_app.db_label
        room = self.size.width - len(head) - len(mode) - len(count) - 3  # at least 2 spaces before the count
        if len(label) > room:  # keep the end of the path (the file name), mark what is cut
            label = "…" + label[len(label) - room + 1:] if room > 1 else "…"
        left = head + label + mode
        width = max(2, self.size.width - len(left) - len(count) - 1)
        self.query_one("#title-bar", Static).update(safe.content(left + " " * width + count))
        shown = canonical_or_none(table.filter_text, ws.country)
        table.border_title = safe.content("Contacts" + (f"  /{shown}" if shown else ""))
        table.border_subtitle = safe.content(count)

    def on_resize(self) -> None:
        self._update_title()

    def db_status_changed(self) -> None:
        """The app lost or regained the database: the title bar says so."""
        self._update_title()

    # --- table events --------------------------------------------------------------------------

    @on(ContactTable.Highlighted)
    def _highlighted_row(self, event: ContactTable.Highlighted) -> None:
        self._update_title()
        row = event.row
        if row is None:
            self._highlighted = None
            self.query_one(RoutePreview).show(None)
            return
        if row.id == self._highlighted:
            return
        self._highlighted = row.id
        if self._preview_timer is not None:
            self._preview_timer.stop()
        # a short debounce: holding j down does not queue a database read per row
        self._preview_timer = self.set_timer(0.05, lambda: self._load_route(row.id))

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview")
    def _load_route(self, contact_id: int) -> None:
        try:
            view = self.workspace.contacts.route(contact_id)
        except Exception as err:
            self.post_message(self.Routed(contact_id, None, f"Could not load the route: {failure_text(err)}"))
            return
        self.post_message(self.Routed(contact_id, view))

    def on_contacts_screen_routed(self, message: Routed) -> None:
        if message.contact_id != self._highlighted:
            return  # the cursor moved on meanwhile
        preview = self.query_one(RoutePreview)
        if message.error:
            preview.show_error(message.error)
        else:
            preview.show(message.view)

    @on(ContactTable.Failed)
    def _failed(self, event: ContactTable.Failed) -> None:
        self.notify(safe.visible(event.text), severity="error", markup=False)

    # --- actions -------------------------------------------------------------------------------

    def action_down(self) -> None:
        self.query_one(ContactTable).move(1)

    def action_up(self) -> None:
        self.query_one(ContactTable).move(-1)

    def action_page_down(self) -> None:
        self.query_one(ContactTable).page(1)

    def action_page_up(self) -> None:
        self.query_one(ContactTable).page(-1)

    def action_first(self) -> None:
        self.query_one(ContactTable).first()

    def action_last(self) -> None:
        self.query_one(ContactTable).last()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        table = self.query_one(ContactTable)
        had = bool(box.value) or table.filter_text
        box.value = ""
        box.display = False
        self.query_one("#filter-status", Static).display = False
        table.focus()
        if had:
            table.set_filter(None)
            self._update_title()

    def _apply_query(self, text: str) -> bool:
        """Check the query (core.query, instant) and show its canonical form or what is wrong and
        where; only a valid query reaches the table, so a typo never empties it."""
        status = self.query_one("#filter-status", Static)
        text = text.strip()
        status.display = bool(text)
        status.remove_class("error")
        from ccconsole.core import query

        try:
            node = query.parse(text, self.workspace.info.country)
        except query.QueryError as err:
            status.update(safe.content(f"✗ {err.message}" + (f" (column {err.column})" if err.column else "")))
            status.add_class("error")
            return False
        status.update(safe.content(f"= {query.canonical(node)}"))
        self.query_one(ContactTable).set_filter(text or None)
        self._update_title()
        return True

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not self._apply_query(event.value):
            return  # the message stays; the text stays for fixing
        if not event.value.strip():
            event.input.display = False
        self.query_one(ContactTable).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        # filter as you type (each load is a keyset page, cheap); the count follows in a worker
        self._apply_query(event.value)

    def action_mark(self) -> None:
        self.query_one(ContactTable).toggle_mark()

    def action_unmark_all(self) -> None:
        self.query_one(ContactTable).unmark_all()
        self._update_title()

    def action_broadcast(self) -> None:
        """The broadcast preview for the marked contacts, or else for the current query."""
        from ccconsole.tui.screens.broadcast import BroadcastPreview

        table = self.query_one(ContactTable)
        if table.marked:
            self.app.push_screen(BroadcastPreview(contact_ids=sorted(table.marked)))
        else:
            self.app.push_screen(BroadcastPreview(query=table.filter_text, total=table.total))

    def action_toggle_preview(self) -> None:
        preview = self.query_one(RoutePreview)
        preview.display = not preview.display

    def action_history(self) -> None:
        row = self.query_one(ContactTable).current
        if row is not None:
            from ccconsole.tui.screens.history import HistoryScreen

            self.app.push_screen(HistoryScreen(row.id, row.name))

    def action_what_if(self) -> None:
        preview = self.query_one(RoutePreview)
        row = self.query_one(ContactTable).current
        if row is None or preview.current is None or preview.current.contact.id != row.id:
            self.notify("Move to a contact and wait for its route first.", markup=False)
            return
        from ccconsole.tui.screens.whatif import WhatIf

        ws = self.workspace.info
        self.app.push_screen(WhatIf(preview.current, ws.country, ws.timezone))

    def action_refresh(self) -> None:
        self.query_one(ContactTable).reload()

    def action_edit(self) -> None:
        row = self.query_one(ContactTable).current
        if row is None:
            return
        from ccconsole.tui.screens.editor import ContactEditor

        def done(saved) -> None:
            if saved is not None:
                self._show_saved(saved)
                self.notify(f"Saved {safe.visible(saved.name or saved.uuid)}", markup=False)

        self.app.push_screen(ContactEditor(row.id), done)

    def _show_saved(self, saved) -> None:
        """Reload the table around ``saved`` (selected) and its route."""
        self.query_one(ContactTable).show_contact((saved.name, saved.id), saved.id)
        self._highlighted = None  # force the preview to reload the new route
        self._load_route(saved.id)
        self._highlighted = saved.id

    def action_new_contact(self) -> None:
        from ccconsole.tui.screens.editor import ContactEditor

        def done(created) -> None:
            if created is None:
                return
            self._show_saved(created)
            table = self.query_one(ContactTable)
            note = ""
            if table.filter_text:
                note = " (not listed if the filter does not match it)"
            self.notify(f"Created {safe.visible(created.name or created.uuid)}{note}", markup=False)

        self.app.push_screen(ContactEditor(None), done)

    def action_delete_contact(self) -> None:
        row = self.query_one(ContactTable).current
        if row is None:
            return
        from ccconsole.tui.screens.dialogs import Confirm

        name = row.name or row.uuid
        question = (f"Delete the contact {name}? Its connections are detached (free to be claimed again); "
                    "its message history stays.")

        def answer(yes: bool | None) -> None:
            if yes:
                self._delete(row.id, name)

        self.app.push_screen(Confirm(question, yes="Delete", no="No"), answer)

    @work(thread=True, exit_on_error=False, group="contact-delete")
    def _delete(self, contact_id: int, name: str) -> None:
        try:
            self.workspace.contacts.delete(contact_id)
        except Exception as err:
            self.post_message(self.Deleted(name, failure_text(err)))
            return
        self.post_message(self.Deleted(name))

    def on_contacts_screen_deleted(self, message: Deleted) -> None:
        if message.error:
            self.notify(f"Not deleted: {safe.visible(message.error)}", severity="error", markup=False)
            return
        self.query_one(ContactTable).reload()  # the cursor stays at the deleted contact's place
        self.notify(f"Deleted {safe.visible(message.name)}", markup=False)

    def on_key(self, event: events.Key) -> None:
        """Read-only: a key that would change data says why it does nothing."""
        if not self.console_app.read_only or isinstance(self.focused, Input):
            return
        spec = actions.refused_in_read_only("contacts", event.key, self.console_app.keymap)
        if spec is not None:
            event.stop()
            self.notify(f"Read-only: {safe.visible(spec.description.lower())} is not available; nothing was written.",
                        severity="warning", markup=False)

    def action_audit_contact(self) -> None:
        row = self.query_one(ContactTable).current
        if row is not None:
            from ccconsole.tui.screens.audit import AuditScreen

            self.app.push_screen(AuditScreen(row.id, row.name))

    def action_import_file(self) -> None:
        from ccconsole.tui.screens.transfer import ImportScreen

        self.app.push_screen(ImportScreen())

    def action_export(self) -> None:
        from ccconsole.tui.screens.transfer import ExportScreen

        table = self.query_one(ContactTable)
        self.app.push_screen(ExportScreen(table.filter_text, table.total, "~/contacts-export.xlsx"))

    def check_action(self, action: str, parameters) -> bool | None:
        spec = actions.by_action("contacts", action)
        return not (spec is not None and spec.mutates and self.console_app.read_only)

    def refresh_data(self) -> None:
        """Called by the app when the data changed elsewhere."""
        self.query_one(ContactTable).reload()
        if self._highlighted is not None:
            self._load_route(self._highlighted)
