"""Update Contact and New contact: the whole contact — name, language, status, connections in
priority order (promote, edit in place, remove, add), groups and every custom field's value.

Saving *replaces* the contact's connection list (domain.md section 3) through the one use case
(``ws.contacts.update``, or ``ws.contacts.create`` for a new contact), in a worker; nothing is saved
unless everything is valid, and a refused save keeps the edits, marks each bad field and moves the
focus to the first one. While editing, the modal shows where the next message would go with the
unsaved list and status, computed by the same resolver as everywhere else. ``esc`` with unsaved edits
asks before discarding them.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static

from ccconsole.app import audit
from ccconsole.core import urns as urnlib
from ccconsole.core.merging import FormConn, merge, merge_name
from ccconsole.core.model import Connection, Contact, Status
from ccconsole.core.routing import RULE_TEXT, Channels, route
from ccconsole.core.text import when
from ccconsole.core.views import ContactView
from ccconsole.errors import Conflict, StoreError, ValidationFailed
from ccconsole.tui import actions, safe
from ccconsole.tui.base import UsesWorkspace, failure_text
from ccconsole.tui.screens.dialogs import Confirm
from ccconsole.tui.widgets.footer import KeyFooter
from ccconsole.tui.widgets.form import ConnectionRow, ErrorLine, FieldRow, Item

# what staff may set; a stopped contact (it opted out) shows "stopped" until re-activated
STATUS_CHOICES = [("active", "active"), ("blocked", "blocked"), ("archived", "archived")]
STOPPED_CHOICE = ("stopped (opted out)", "stopped")


@dataclass(frozen=True)
class ConflictInfo:
    """A refused save: the contact as it is now, what changed since the form opened, who changed it."""

    current: ContactView
    changes: list
    events: list


class ContactEditor(UsesWorkspace, ModalScreen):
    """Returns the saved ContactView on save, None on cancel. ``contact_id=None``: a new contact."""

    BINDINGS = actions.bindings("editor")
    VERTICAL_BREAKPOINTS = [(0, "-short"), (40, "-tall")]

    class Loaded(Message):
        def __init__(self, view: ContactView | None, channels, error: str | None = None,
                     field_defs: list[tuple[str, str]] | None = None):
            super().__init__()
            self.view, self.channels, self.error = view, channels, error
            self.field_defs = field_defs or []

    class Saved(Message):
        def __init__(self, view: ContactView | None, errors: dict[str, str] | None = None,
                     error: str | None = None, conflict: ConflictInfo | None = None):
            super().__init__()
            self.view, self.errors, self.error, self.conflict = view, errors or {}, error, conflict

    class Refetched(Message):
        """The contact as it is now (for Reload), or why it could not be read."""

        def __init__(self, info: ConflictInfo | None, error: str | None = None):
            super().__init__()
            self.info, self.error = info, error

    def __init__(self, contact_id: int | None):
        super().__init__()
        self.contact_id = contact_id
        self.is_new = contact_id is None
        self.view: ContactView | None = None
        self.loaded = False  # the form holds the contact (or, new, the workspace's fields)
        self.channels = Channels(())
        self.items: list[Item] = []
        self.field_defs: list[tuple[str, str]] = []  # (key, name) of the workspace's custom fields
        self.saving = False
        self.conflict: ConflictInfo | None = None  # set while a refused save waits for Reload
        self._clean: tuple | None = None  # the form's state as loaded: anything else is an unsaved edit

    @property
    def country(self) -> str | None:
        return self.workspace.info.country

    def compose(self) -> ComposeResult:
        with Vertical(id="editor"):
            yield Label("New contact" if self.is_new else "Update Contact", id="editor-title")
            with VerticalScroll(id="editor-body"):
                with Horizontal(classes="field"):
                    yield Label("Name", classes="field-label")
                    yield safe.SafeInput(id="name", placeholder="Name", compact=True)
                yield ErrorLine(id="err-name")
                yield Label("Connections (first = priority)", classes="section")
                yield Vertical(id="connections")
                with Horizontal(classes="field", id="add-row"):
                    yield Label("Add", classes="field-label")
                    yield Select([(s.label, s.key) for s in urnlib.SCHEMES.values()], value="tel",
                                 allow_blank=False, id="add-scheme", compact=True)
                    yield safe.SafeInput(placeholder="+250788383383", id="add-value", compact=True)
                    yield Button("Add", id="add", compact=True)
                yield ErrorLine(id="err-add")
                with Horizontal(classes="field"):
                    yield Label("Groups", classes="field-label")
                    yield safe.SafeInput(id="groups", placeholder="comma separated, e.g. Nurses, Kigali", compact=True)
                yield ErrorLine(id="err-groups")
                with Horizontal(classes="field", id="attrs-row"):
                    yield Label("Language", classes="field-label")
                    yield safe.SafeInput(id="language", placeholder="e.g. eng", compact=True,
                                         tooltip="ISO-639-3 code, e.g. eng, kin, fra; empty: none")
                    yield Label("Status", classes="attr-label")
                    yield Select(STATUS_CHOICES, value="active", allow_blank=False, id="status", compact=True)
                yield ErrorLine(id="err-language")
                yield ErrorLine(id="err-status")
                yield Label("Fields", classes="section")
                yield Vertical(id="fields")
                yield Static("", id="next-route")
                yield Static("", id="conflict")
            # outside the scrolling form, just above the buttons: always in view, never over them
            yield ErrorLine(id="err-form")
            with Horizontal(id="editor-buttons"):
                yield Button("Reload (^l)", id="reload", compact=True,
                             tooltip="Load the version saved meanwhile, keeping your edits on top")
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button("Create (^s)" if self.is_new else "Save Changes (^s)", id="save",
                             variant="primary", compact=True,
                             disabled=self.console_app.read_only)
        yield KeyFooter()  # the ranked footer of every screen: whole keys, the most important first

    def on_mount(self) -> None:
        self.query_one("#conflict", Static).display = False
        self.query_one("#reload", Button).display = False
        self._load()

    @work(thread=True, exit_on_error=False, group="editor")
    def _load(self) -> None:
        try:
            view = None if self.contact_id is None else self.workspace.contacts.get(self.contact_id)
            channels = self.workspace.channels.list()
            field_defs = self.workspace.contacts.field_definitions()
        except Exception as err:
            self.post_message(self.Loaded(None, (), failure_text(err)))
            return
        self.post_message(self.Loaded(view, channels, field_defs=field_defs))

    async def on_contact_editor_loaded(self, message: Loaded) -> None:
        if message.error:
            self.notify(safe.visible(message.error), severity="error", markup=False)
            self.dismiss(None)
            return
        view = message.view
        assert view is not None or self.is_new  # loaded without an error
        self.view = view
        self.channels = Channels(message.channels)
        self.field_defs = message.field_defs
        if view is not None:
            self.query_one("#editor-title", Label).update(
                safe.content(f"Update Contact — {view.name or '(no name)'}"))
        await self._fill(view)
        await self._mount_fields(dict(view.fields) if view else {})
        await self._rebuild(focus=None)
        self._clean = self._state_of(view)
        self.loaded = True
        self.query_one("#name", Input).focus()

    async def _fill(self, view: ContactView | None) -> None:
        """Name, language, status, groups and connections as stored (empty for a new contact)."""
        self.query_one("#name", Input).value = view.name if view else ""
        self.query_one("#language", Input).value = (view.language or "") if view else ""
        self._set_status(view.status if view else "active")
        self.query_one("#groups", Input).value = ", ".join(view.groups) if view else ""
        self.items = [Item(c.scheme, self._editable(c.identity), c.identity, c.affinity_channel_id)
                      for c in view.connections] if view else []

    def _set_status(self, status: str) -> None:
        select: Select[str] = self.query_one("#status", Select)
        choices = list(STATUS_CHOICES)
        if status == "stopped":
            choices.append(STOPPED_CHOICE)
        select.set_options(choices)
        select.value = status

    async def _mount_fields(self, values: dict[str, str]) -> None:
        box = self.query_one("#fields", Vertical)
        await box.remove_children()
        rows: list[Widget] = []
        for i, (key, name) in enumerate(self.field_defs):
            rows.append(FieldRow(i, name or key, values.get(key, "")))
            rows.append(ErrorLine(id=f"err-field-{i}", classes="field-error"))
        if not rows:
            rows.append(Label("The workspace has no custom fields.", classes="hint"))
        await box.mount_all(rows)

    # --- what the form holds -------------------------------------------------------------------

    def _field_values(self) -> dict[str, str]:
        """``{field key: value typed}`` for every field of the workspace."""
        values = {}
        for i, (key, _) in enumerate(self.field_defs):
            try:
                values[key] = self.query_one(f"#field-{i}", Input).value
            except Exception:  # not mounted yet
                values[key] = ""
        return values

    def _status_value(self) -> str:
        value = self.query_one("#status", Select).value
        return str(value) if value != Select.BLANK else "active"

    def _groups(self) -> list[str]:
        return [g.strip() for g in self.query_one("#groups", Input).value.split(",") if g.strip()]

    def _form_state(self) -> tuple:
        self._sync_values()
        return (self.query_one("#name", Input).value.strip(), self.query_one("#language", Input).value.strip(),
                self._status_value(), tuple(self._groups()),
                tuple((i.scheme, i.value.strip()) for i in self.items),
                tuple(sorted((k, v.strip()) for k, v in self._field_values().items())))

    def _state_of(self, view: ContactView | None) -> tuple:
        """The form's state right after loading ``view`` (None: a new, empty contact)."""
        stored = dict(view.fields) if view else {}
        return ((view.name.strip() if view else ""), (view.language or "") if view else "",
                view.status if view else "active", tuple(view.groups) if view else (),
                tuple((c.scheme, self._editable(c.identity)) for c in view.connections) if view else (),
                tuple(sorted((k, stored.get(k, "").strip()) for k, _ in self.field_defs)))

    @property
    def edited(self) -> bool:
        """The form holds changes that are not saved."""
        return self.loaded and self._clean is not None and self._form_state() != self._clean

    def _editable(self, identity: str) -> str:
        return identity.partition(":")[2]

    # --- the list of connections ---------------------------------------------------------------

    async def _rebuild(self, focus: int | None) -> None:
        box = self.query_one("#connections", Vertical)
        await box.remove_children()
        rows: list[Widget] = []
        for i, item in enumerate(self.items):
            rows.append(ConnectionRow(i, item, self.country))
            rows.append(ErrorLine(id=f"err-conn-{i}"))
        if not rows:
            rows.append(Label("No connections: add one below.", classes="hint"))
        await box.mount_all(rows)
        if focus is not None and 0 <= focus < len(self.items):
            self.query_one(f"#conn-{focus}", Input).focus()
        self._update_route()

    def _sync_values(self) -> None:
        for i, item in enumerate(self.items):
            try:
                item.value = self.query_one(f"#conn-{i}", Input).value
            except Exception:
                pass

    def _focused_index(self) -> int | None:
        focused = self.focused
        node: DOMNode | None = focused
        while node is not None and not isinstance(node, ConnectionRow):
            node = node.parent
        return node.index if isinstance(node, ConnectionRow) else None

    async def promote_at(self, index: int) -> None:
        if index <= 0 or index >= len(self.items):
            return
        self._sync_values()
        self.items[index - 1], self.items[index] = self.items[index], self.items[index - 1]
        await self._rebuild(focus=index - 1)

    async def remove_at(self, index: int) -> None:
        if not 0 <= index < len(self.items):
            return
        self._sync_values()
        del self.items[index]
        await self._rebuild(focus=min(index, len(self.items) - 1) if self.items else None)

    async def action_promote(self) -> None:
        index = self._focused_index()
        if index is not None:
            await self.promote_at(index)

    async def action_remove(self) -> None:
        index = self._focused_index()
        if index is not None:
            await self.remove_at(index)

    @on(Button.Pressed, ".conn-up")
    async def _up_pressed(self, event: Button.Pressed) -> None:
        assert event.button.id is not None  # up-<index>
        await self.promote_at(int(event.button.id.split("-")[1]))

    @on(Button.Pressed, ".conn-rm")
    async def _rm_pressed(self, event: Button.Pressed) -> None:
        assert event.button.id is not None  # rm-<index>
        await self.remove_at(int(event.button.id.split("-")[1]))

    @on(Button.Pressed, "#add")
    @on(Input.Submitted, "#add-value")
    async def add_connection(self) -> None:
        scheme = self.query_one("#add-scheme", Select).value
        box = self.query_one("#add-value", Input)
        error = self.query_one("#err-add", ErrorLine)
        try:
            urn = urnlib.clean(str(scheme), box.value, self.country, require_e164=True)
        except urnlib.URNError as err:
            error.show(str(err))
            return
        self._sync_values()
        if any(self._identity(i) == urn.identity for i in self.items):
            error.show("The contact has this connection already.")
            return
        error.show(None)
        self.items.append(Item(urn.scheme, urn.path))
        box.value = ""
        await self._rebuild(focus=None)
        box.focus()

    @on(Select.Changed, "#status")
    def _status_changed(self) -> None:
        if self.loaded:
            self._update_route()

    @on(Select.Changed, "#add-scheme")
    def _scheme_changed(self, event: Select.Changed) -> None:
        examples = {"tel": "+250788383383", "mailto": "jane@example.org", "twitter": "@handle",
                    "telegram": "123456789", "ext": "any external id"}
        self.query_one("#add-value", Input).placeholder = examples.get(str(event.value), "")

    # --- live validation and route -------------------------------------------------------------

    def _identity(self, item: Item) -> str | None:
        try:
            return urnlib.clean(item.scheme, item.value, self.country).identity
        except urnlib.URNError:
            return None

    @on(Input.Changed, ".conn-value")
    def _value_changed(self, event: Input.Changed) -> None:
        assert event.input.id is not None  # conn-<index>
        index = int(event.input.id.split("-")[1])
        if index < len(self.items):
            self.items[index].value = event.value
            item = self.items[index]
            label = self.query_one(f"#err-conn-{index}", ErrorLine)
            try:
                urn = urnlib.clean(item.scheme, item.value, self.country)
                if urn.identity != item.original and item.scheme == "tel" and not urnlib.is_e164(urn.path):
                    raise urnlib.URNError(urnlib.INVALID_NEW_PHONE)
                label.show(None)
            except urnlib.URNError as err:
                label.show(str(err))
        self._update_route()

    def _update_route(self) -> None:
        """Where the next message would go with the unsaved list (same resolver as the preview)."""
        conns = []
        for item in self.items:
            identity = self._identity(item)
            if identity:
                conns.append(Connection(identity, item.affinity if identity == item.original else None))
        try:
            status = Status(self._status_value())
        except ValueError:
            status = Status.ACTIVE
        decision = route(Contact(status, tuple(conns)), self.channels, explain=False)
        target = self.query_one("#next-route", Static)
        if decision.ok:
            assert decision.connection is not None and decision.channel is not None and decision.rule is not None
            target.update(safe.content(
                f"Next message would go: {decision.connection.identity} via {decision.channel.name} "
                f"({RULE_TEXT[decision.rule]})"))
        else:
            target.update(safe.content(f"Next message would go nowhere: {decision.reason}"))

    # --- saving --------------------------------------------------------------------------------

    def action_save(self) -> None:
        if self.console_app.read_only:
            self._refuse_read_only()
            return
        if self.saving or not self.loaded:
            return
        self._sync_values()
        for label in self.query(ErrorLine):
            label.show(None)
        urns = [f"{item.scheme}:{item.value}" for item in self.items]
        name = self.query_one("#name", Input).value
        language = self.query_one("#language", Input).value.strip()
        status = self._status_value()
        typed = {k: v.strip() for k, v in self._field_values().items()}
        self.saving = True
        if self.view is None:
            fields = {k: v for k, v in typed.items() if v}
            self._save(None, name, urns, self._groups(), 0, language, status, fields)
            return
        stored = dict(self.view.fields)
        # only the fields the user changed: a value someone else set meanwhile is not undone by accident
        changed: dict[str, str | None] = {k: (v or None) for k, v in typed.items()
                                           if v != stored.get(k, "").strip()}
        self._save(self.view.id, name, urns, self._groups(), self.view.version, language, status, changed)

    def _refuse_read_only(self) -> None:
        self.query_one("#err-form", ErrorLine).show("Read-only: this console cannot save; nothing was written.")

    @work(thread=True, exit_on_error=False, group="editor-save")
    def _save(self, contact_id: int | None, name: str, urns: list[str], groups: list[str], version: int,
              language: str, status: str, fields: dict[str, str | None]) -> None:
        try:
            if contact_id is None:
                view = self.workspace.contacts.create(
                    name, urns, language=language or None, status=status, groups=groups,
                    fields={k: v for k, v in fields.items() if v is not None})
            else:
                view = self.workspace.contacts.update(contact_id, name=name, urns=urns, groups=groups,
                                                      language=language, status=status, fields=fields,
                                                      expected_version=version)
        except ValidationFailed as err:
            self.post_message(self.Saved(None, err.errors))
            return
        except Conflict as err:
            try:
                info = self._conflict_info(err.current)
            except Exception as again:
                self.post_message(self.Saved(None, error=f"{err} {failure_text(again)}"))
                return
            self.post_message(self.Saved(None, error=str(err), conflict=info))
            return
        except StoreError as err:
            self.post_message(self.Saved(None, error=str(err)))
            return
        except Exception as err:
            self.post_message(self.Saved(None, error=failure_text(err)))
            return
        self.post_message(self.Saved(view))

    def _conflict_info(self, current: ContactView | None) -> ConflictInfo:
        """(In a worker.) The contact as it is now, what changed since the form was opened, and who."""
        assert self.view is not None  # the form was loaded
        if current is None:
            current = self.workspace.contacts.get(self.view.id)
        missed = max(0, current.version - self.view.version)
        events = (list(reversed(self.workspace.audit.page(contact_id=current.id, limit=min(missed, 10))))
                  if missed else [])
        return ConflictInfo(current, audit.contact_changes(self.view, current), events)

    @work(thread=True, exclusive=True, exit_on_error=False, group="editor-reload")
    def _refetch(self) -> None:
        try:
            info = self._conflict_info(None)
        except StoreError as err:
            self.post_message(self.Refetched(None, str(err)))
            return
        except Exception as err:
            self.post_message(self.Refetched(None, failure_text(err)))
            return
        self.post_message(self.Refetched(info))

    def _error_targets(self) -> list[tuple[str, str, str]]:
        """(error key, the widget that gets the focus, its message line) in the form's order."""
        targets = [("name", "#name", "#err-name")]
        targets += [(f"urns.{i}", f"#conn-{i}", f"#err-conn-{i}") for i in range(len(self.items))]
        targets += [("urns", "#add-value", "#err-add"), ("groups", "#groups", "#err-groups"),
                    ("language", "#language", "#err-language"), ("status", "#status", "#err-status")]
        targets += [(f"fields.{key}", f"#field-{i}", f"#err-field-{i}") for i, (key, _) in enumerate(self.field_defs)]
        return targets

    def on_contact_editor_saved(self, message: Saved) -> None:
        self.saving = False
        if message.view is not None:
            self._clean = None
            self.dismiss(message.view)
            return
        form_error = self.query_one("#err-form", ErrorLine)
        placed: set[str] = set()
        first: tuple[Widget, ErrorLine] | None = None
        for key, widget_id, line_id in self._error_targets():
            if key not in message.errors:
                continue
            placed.add(key)
            line = self.query_one(line_id, ErrorLine)
            line.show(message.errors[key])
            if first is None:
                first = (self.query_one(widget_id), line)
        others = [text for key, text in message.errors.items() if key not in placed]
        if message.conflict is not None:
            self.conflict = message.conflict
            self._show_conflict(message.conflict)
            form_error.show("Not saved: someone else changed this contact. Reload (ctrl+l) keeps your edits.")
            return
        if message.errors:
            count = len(message.errors)
            form_error.show(" ".join([f"Not saved: fix the field{'s' if count > 1 else ''} marked ⚠."] + others))
        else:
            form_error.show(message.error)
        if first is not None:
            widget, line = first
            widget.focus(scroll_visible=False)
            # once the message lines have their height: the field and its message in view
            self.call_after_refresh(self._reveal, widget, line)

    def _reveal(self, widget: Widget, line: ErrorLine, tries: int = 5) -> None:
        """Scroll the form so the field and its message are in view. The message lines (and the
        summary above the buttons, which shrinks the form) take their place over the next layouts:
        try again until both are inside the form's visible part."""
        body = self.query_one("#editor-body", VerticalScroll)
        body.scroll_to_widget(line, animate=False, immediate=True)
        body.scroll_to_widget(widget, animate=False, immediate=True)
        inside = body.region.contains_region(widget.region) and body.region.contains_region(line.region)
        if not inside and tries > 1:
            self.set_timer(0.02, lambda: self._reveal(widget, line, tries - 1))

    # --- someone else saved meanwhile: show what changed, reload keeping the user's edits ---------

    def _show_conflict(self, info: ConflictInfo) -> None:
        zone = self.workspace.info.timezone
        who = ", ".join(f"{e.actor} ({e.action.partition('.')[2]}, {when(e.created_on, zone)})"
                        for e in info.events) or "someone"
        assert self.view is not None  # the form was loaded
        lines = [f"⚠ Not saved: changed by {who} since you opened it (version {self.view.version} → "
                 f"{info.current.version}). Changed meanwhile:"]
        lines += [f"  {c}" for c in info.changes] or ["  (nothing visible)"]
        lines.append("Reload (ctrl+l) loads their version and keeps your unsaved edits on top of it.")
        box = self.query_one("#conflict", Static)
        box.update(safe.lines(lines))
        box.display = True
        self.query_one("#reload", Button).display = True
        self.call_after_refresh(box.scroll_visible)

    def action_reload(self) -> None:
        if self.view is None or self.saving:
            return
        self._refetch()

    def action_audit_contact(self) -> None:
        if self.view is not None:
            from ccconsole.tui.screens.audit import AuditScreen

            self.app.push_screen(AuditScreen(self.view.id, self.view.name))

    @on(Button.Pressed, "#reload")
    def _reload_pressed(self) -> None:
        self.action_reload()

    async def on_contact_editor_refetched(self, message: Refetched) -> None:
        if message.error:
            self.query_one("#err-form", ErrorLine).show(message.error)
            self.notify(f"Could not reload: {message.error}", severity="error", markup=False)
            return
        info = message.info
        assert info is not None and self.view is not None  # reloaded without an error, after loading
        self._sync_values()
        base, current = self.view, info.current
        mine_conns = [FormConn(i.scheme, i.value, i.original, i.affinity, self._identity(i)) for i in self.items]
        mine_groups = self._groups()
        result = merge(base.name, base.groups, [(c.identity, c.affinity_channel_id) for c in base.connections],
                       self.query_one("#name", Input).value, mine_groups, mine_conns,
                       current.name, current.groups,
                       [(c.identity, c.affinity_channel_id) for c in current.connections], self._editable)
        # language, status and each field: the same three-way rule as the name
        clashes = dict(result.clashes)
        language, clash = merge_name(base.language or "", self.query_one("#language", Input).value.strip(),
                                     current.language or "")
        if clash:
            clashes["language"] = current.language or "—"
        status, clash = merge_name(base.status, self._status_value(), current.status)
        if clash:
            clashes["status"] = current.status
        base_fields, their_fields = dict(base.fields), dict(current.fields)
        fields = {}
        for key, mine in self._field_values().items():
            fields[key], clash = merge_name(base_fields.get(key, ""), mine.strip(), their_fields.get(key, ""))
            if clash:
                clashes[f"fields.{key}"] = their_fields.get(key) or "—"
        self.view = current
        self.conflict = None
        self._clean = self._state_of(current)
        self.query_one("#editor-title", Label).update(
            safe.content(f"Update Contact — {current.name or '(no name)'}"))
        self.query_one("#name", Input).value = result.name
        self.query_one("#language", Input).value = language
        self._set_status(status)
        self.query_one("#groups", Input).value = ", ".join(result.groups)
        for i, (key, _) in enumerate(self.field_defs):
            self.query_one(f"#field-{i}", Input).value = fields.get(key, "")
        self.items = [Item(c.scheme, c.value, c.original, c.affinity) for c in result.connections]
        for label in self.query(ErrorLine):
            label.show(None)
        await self._rebuild(focus=None)
        lines = [f"Reloaded version {current.version}. Their changes are in the form; your edits are kept."]
        if info.changes:
            lines.append("They changed: " + "; ".join(str(c) for c in info.changes))
        labels = {"name": "Name", "groups": "Groups", "connections": "Connections", "language": "Language",
                  "status": "Status"} | {f"fields.{k}": n or k for k, n in self.field_defs}
        for key, theirs in clashes.items():
            lines.append(f"⚠ {labels.get(key, key)}: you both changed it — yours is in the form, theirs was: {theirs}")
        if "name" in result.clashes:
            self.query_one("#err-name", ErrorLine).show(f"They saved “{result.clashes['name']}”; yours is kept.")
        lines.append("ctrl+s saves the form as shown; esc discards your edits.")
        box = self.query_one("#conflict", Static)
        box.update(safe.lines(lines))
        box.display = True
        self.query_one("#reload", Button).display = False
        self.call_after_refresh(box.scroll_visible)

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    def action_history(self) -> None:
        if self.view is not None:
            from ccconsole.tui.screens.history import HistoryScreen

            self.app.push_screen(HistoryScreen(self.view.id, self.view.name))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close; with unsaved edits (and a console that could save them) ask first, keeping them by default."""
        if self.console_app.read_only or not self.edited:
            self.dismiss(None)
            return

        def answer(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(Confirm("Discard your changes?", yes="Discard", no="Keep editing"), answer)

    def on_key(self, event: events.Key) -> None:
        """Read-only: ctrl+s says why it does nothing."""
        if self.console_app.read_only and actions.refused_in_read_only("editor", event.key, self.console_app.keymap):
            event.stop()
            self._refuse_read_only()

    def check_action(self, action: str, parameters) -> bool | None:
        spec = actions.by_action("editor", action)
        if spec is not None and spec.mutates and self.console_app.read_only:
            return False
        return True
