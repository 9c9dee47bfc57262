"""What if: "this contact wrote in on connection U through channel C" — the resulting order, lock-in
and route, computed by the core (``core.lockin.what_if``, the same rules as a real inbound message
and the same resolver as the preview) without saving anything."""

from __future__ import annotations

import dataclasses

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from ccconsole.core import urns as urnlib
from ccconsole.core.lists import receive_problem
from ccconsole.core.lockin import contact_urn, urns_by_scheme, what_if
from ccconsole.core.routing import Channels
from ccconsole.core.views import ConnectionView, RouteView
from ccconsole.tui import safe
from ccconsole.tui.base import UsesWorkspace, failure_text
from ccconsole.tui.widgets.footer import KeyFooter
from ccconsole.tui.widgets.form import ErrorLine
from ccconsole.tui.widgets.route_preview import render_route

NEW = "__new__"


def hypothetical(rv: RouteView, identity: str, channel, channels: Channels) -> RouteView:
    """The preview of ``rv``'s contact after an incoming message on ``identity`` through ``channel``."""
    after, decision, lock = what_if(rv.contact.core, identity, channel, channels)
    known = {c.identity: c for c in rv.contact.connections}
    conns = []
    for conn in after.connections:
        old = known.get(conn.identity)
        if old is not None and old.affinity_channel_id == conn.affinity:
            conns.append(old)
        else:  # a new connection, or a new affinity: set "now", by no stored message
            conns.append(ConnectionView(old.id if old else 0, conn.identity, conn.display, 0, conn.affinity))
    contact = dataclasses.replace(rv.contact, status=after.status.value, connections=tuple(conns))
    return RouteView(contact, decision, lock, contact_urn(after, channels), urns_by_scheme(after),
                     {c.id: c.name for c in channels.all}, rv.affinity_messages)


class WhatIf(UsesWorkspace, ModalScreen):
    """Pick a connection (or type a new one) and a channel; the result updates as you choose."""

    BINDINGS = [("escape", "close", "Close")]

    class Loaded(Message):
        def __init__(self, channels, error: str | None = None):
            super().__init__()
            self.channels, self.error = channels, error

    def __init__(self, rv: RouteView, country: str | None, tz: str):
        super().__init__()
        self.rv, self.country, self.tz = rv, country, tz
        self.channels = Channels(())

    def compose(self) -> ComposeResult:
        name = self.rv.contact.name or "(no name)"
        options = [(safe.content(urnlib.display_identity(c.identity, self.country) + f"  ({c.scheme})"), c.identity)
                   for c in self.rv.contact.connections]
        options.append((safe.content("another connection…"), NEW))
        with Vertical(id="whatif"):
            yield Label(safe.content(f"What if {name} wrote in?  Nothing is saved."), id="editor-title")
            with Horizontal(classes="field"):
                yield Label("On", classes="field-label")
                yield Select(options, value=options[0][1], allow_blank=False, id="whatif-connection", compact=True)
            with Horizontal(classes="field", id="whatif-new-row"):
                yield Label("New", classes="field-label")
                yield safe.SafeInput(placeholder="tel:+250788123456 or a phone number", id="whatif-new", compact=True)
            with Horizontal(classes="field"):
                yield Label("Through", classes="field-label")
                yield Select([], prompt="loading channels…", id="whatif-channel", compact=True)
            yield ErrorLine(id="whatif-error")
            with VerticalScroll(id="whatif-body"):
                yield Static("", id="whatif-result")
            yield Label("esc closes", classes="hint")
        yield KeyFooter()  # its own keys, on the last line: the dialog never covers them

    def on_mount(self) -> None:
        self.query_one("#whatif-new-row").display = False
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="whatif")
    def _load(self) -> None:
        try:
            self.post_message(self.Loaded(self.workspace.channels.list()))
        except Exception as err:
            self.post_message(self.Loaded([], failure_text(err)))

    def on_what_if_loaded(self, message: Loaded) -> None:
        if message.error:
            self.query_one("#whatif-error", ErrorLine).show(message.error)
            return
        self.channels = Channels(message.channels)
        receiving = [ch for ch in self.channels.all if ch.active]
        select = self.query_one("#whatif-channel", Select)
        select.set_options([(safe.content(f"{ch.name} ({','.join(ch.schemes)})"), ch.id) for ch in receiving])
        identity = self._identity()
        scheme = identity.partition(":")[0] if identity else None
        fitting = [ch for ch in receiving if scheme and receive_problem(ch, scheme) is None]
        if fitting:
            select.value = fitting[0].id
        self._update()

    def _identity(self) -> str | None:
        value = self.query_one("#whatif-connection", Select).value
        if value != NEW:
            return str(value)
        typed = self.query_one("#whatif-new", Input).value.strip()
        if not typed:
            return None
        text = typed if ":" in typed else f"tel:{typed}"
        return urnlib.clean_text(text, self.country).identity

    @on(Select.Changed)
    @on(Input.Changed, "#whatif-new")
    def _changed(self) -> None:
        new = self.query_one("#whatif-connection", Select).value == NEW
        self.query_one("#whatif-new-row").display = new
        self._update()

    def _update(self) -> None:
        error = self.query_one("#whatif-error", ErrorLine)
        result = self.query_one("#whatif-result", Static)
        try:
            identity = self._identity()
        except urnlib.URNError as err:
            error.show(str(err))
            result.update("")
            return
        channel_id = self.query_one("#whatif-channel", Select).value
        channel = self.channels.by_id.get(channel_id) if isinstance(channel_id, int) else None
        if identity is None or channel is None:
            error.show(None)
            result.update(safe.content("Choose a connection and a channel."))
            return
        problem = receive_problem(channel, identity.partition(":")[0])
        if problem is not None:
            error.show(problem)
            result.update("")
            return
        error.show(None)
        after = hypothetical(self.rv, identity, channel, self.channels)
        head = Text("If a message came in on ", style="bold")
        head.append_text(safe.text(identity, "bold"))
        head.append(" through ")
        head.append_text(safe.text(channel.name, "bold"))
        before = Text("Now: ", style="dim")
        before.append_text(safe.text(self._route_line(self.rv), "dim"))
        result.update(Group(head, before, Text(), render_route(after, self.country, self.tz)))

    @staticmethod
    def _route_line(rv: RouteView) -> str:
        if rv.route.ok:
            assert rv.route.connection is not None and rv.route.channel is not None
            return f"{rv.route.connection.identity} via {rv.route.channel.name}"
        return f"no route ({rv.route.reason})"

    def action_close(self) -> None:
        self.dismiss(None)
