"""Update Contact: name, connections in priority order (promote, edit in place, remove, add), groups.

Saving *replaces* the contact's connection list (domain.md section 3) through the store, in a
worker; nothing is saved unless everything is valid. While editing, the modal shows where the next
message would go with the unsaved list, computed by the same resolver as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Footer, Input, Label, Select, Static

from ccconsole.app import audit
from ccconsole.core import urns as urnlib
from ccconsole.core.merging import FormConn, merge
from ccconsole.core.model import Connection, Contact, Status
from ccconsole.core.routing import RULE_TEXT, Channels, route
from ccconsole.core.views import ContactView
from ccconsole.errors import Conflict, StoreError, ValidationFailed
from ccconsole.tui import actions, safe
from ccconsole.tui.base import UsesWorkspace, failure_text
from ccconsole.tui.widgets.form import ConnectionRow, ErrorLine, Item


@dataclass(frozen=True)
class ConflictInfo:
    """A refused save: the contact as it is now, what changed since the form opened, who changed it."""

    current: ContactView
    changes: list
    events: list


class ContactEditor(UsesWorkspace, ModalScreen):
    """Returns the saved ContactView on save, None on cancel."""

    BINDINGS = actions.bindings("editor")

    class Loaded(Message):
        def __init__(self, view: ContactView | None, channels, error: str | None = None):
            super().__init__()
            self.view, self.channels, self.error = view, channels, error

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

    def __init__(self, contact_id: int):
        super().__init__()
        self.contact_id = contact_id
        self.view: ContactView | None = None
        self.channels = Channels(())
        self.items: list[Item] = []
        self.saving = False
        self.conflict: ConflictInfo | None = None  # set while a refused save waits for Reload


    @property
    def country(self) -> str | None:
        return self.workspace.info.country

    def compose(self) -> ComposeResult:
        with Vertical(id="editor"):
            yield Label("Update Contact", id="editor-title")
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
                yield Static("", id="next-route")
                yield ErrorLine(id="err-form")
                yield Static("", id="conflict")
            with Horizontal(id="editor-buttons"):
                yield Button("Reload (^l)", id="reload", compact=True,
                             tooltip="Load the version saved meanwhile, keeping your edits on top")
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button("Save Changes (^s)", id="save", variant="primary", compact=True,
                             disabled=self.console_app.read_only)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#conflict", Static).display = False
        self.query_one("#reload", Button).display = False
        self._load()

    @work(thread=True, exit_on_error=False, group="editor")
    def _load(self) -> None:
        try:
            view = self.workspace.contacts.get(self.contact_id)
            channels = self.workspace.channels.list()
        except Exception as err:
            self.post_message(self.Loaded(None, (), failure_text(err)))
            return
        self.post_message(self.Loaded(view, channels))

    async def on_contact_editor_loaded(self, message: Loaded) -> None:
        if message.error:
            self.notify(safe.visible(message.error), severity="error", markup=False)
            self.dismiss(None)
            return
        view = message.view
        assert view is not None  # loaded without an error
        self.view = view
        self.channels = Channels(message.channels)
        self.query_one("#editor-title", Label).update(
            safe.content(f"Update Contact — {view.name or '(no name)'}"))
        self.query_one("#name", Input).value = view.name
        self.query_one("#groups", Input).value = ", ".join(view.groups)
        self.items = [Item(c.scheme, self._editable(c.identity), c.identity, c.affinity_channel_id)
                      for c in view.connections]
        await self._rebuild(focus=None)
        self.query_one("#name", Input).focus()

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
        status = Status(self.view.status) if self.view else Status.ACTIVE
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
        if self.saving or self.view is None or self.console_app.read_only:
            return
        self._sync_values()
        for label in self.query(ErrorLine):
            label.show(None)
        urns = [f"{item.scheme}:{item.value}" for item in self.items]
        groups = [g.strip() for g in self.query_one("#groups", Input).value.split(",") if g.strip()]
        self.saving = True
        self._save(self.view.id, self.query_one("#name", Input).value, urns, groups, self.view.version)

    @work(thread=True, exit_on_error=False, group="editor-save")
    def _save(self, contact_id: int, name: str, urns: list[str], groups: list[str], version: int) -> None:
        try:
            view = self.workspace.contacts.update(contact_id, name=name, urns=urns, groups=groups,
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

    def on_contact_editor_saved(self, message: Saved) -> None:
        self.saving = False
        if message.view is not None:
            self.dismiss(message.view)
            return
        for key, text in message.errors.items():
            if key.startswith("urns."):
                target = f"#err-conn-{key.split('.')[1]}"
            elif key == "name":
                target = "#err-name"
            else:
                target = "#err-form"
            found = self.query(target)
            (found.first(ErrorLine) if found else self.query_one("#err-form", ErrorLine)).show(text)
        if message.conflict is not None:
            self.conflict = message.conflict
            self._show_conflict(message.conflict)
            self.notify("Not saved: someone else changed this contact. Reload (ctrl+l) keeps your edits.",
                        severity="error", markup=False)
            return
        if message.error:
            self.query_one("#err-form", ErrorLine).show(message.error)
        if message.errors:
            self.notify("Not saved: fix the fields marked ⚠", severity="error", markup=False)
        else:
            self.notify(f"Not saved: {message.error}", severity="error", markup=False)

    # --- someone else saved meanwhile: show what changed, reload keeping the user's edits ---------

    def _show_conflict(self, info: ConflictInfo) -> None:
        who = ", ".join(f"{e.actor} ({e.action.partition('.')[2]}, {e.created_on:%Y-%m-%d %H:%M})"
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
        mine_groups = [g.strip() for g in self.query_one("#groups", Input).value.split(",") if g.strip()]
        result = merge(base.name, base.groups, [(c.identity, c.affinity_channel_id) for c in base.connections],
                       self.query_one("#name", Input).value, mine_groups, mine_conns,
                       current.name, current.groups,
                       [(c.identity, c.affinity_channel_id) for c in current.connections], self._editable)
        self.view = current
        self.conflict = None
        self.query_one("#editor-title", Label).update(
            safe.content(f"Update Contact — {current.name or '(no name)'}"))
        self.query_one("#name", Input).value = result.name
        self.query_one("#groups", Input).value = ", ".join(result.groups)
        self.items = [Item(c.scheme, c.value, c.original, c.affinity) for c in result.connections]
        for label in self.query(ErrorLine):
            label.show(None)
        await self._rebuild(focus=None)
        lines = [f"Reloaded version {current.version}. Their changes are in the form; your edits are kept."]
        if info.changes:
            lines.append("They changed: " + "; ".join(str(c) for c in info.changes))
        labels = {"name": "Name", "groups": "Groups", "connections": "Connections"}
        for key, theirs in result.clashes.items():
            lines.append(f"⚠ {labels[key]}: you both changed it — yours is in the form, theirs was: {theirs}")
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
        self.dismiss(None)

    def check_action(self, action: str, parameters) -> bool | None:
        spec = actions.by_action("editor", action)
        if spec is not None and spec.mutates and self.console_app.read_only:
            return False
        return True
