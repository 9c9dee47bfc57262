"""The channels screen: every channel, how many contacts are locked in to it; add and disable."""

from __future__ import annotations

from collections import Counter

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Select, Static

from ccconsole.core import urns as urnlib
from ccconsole.core.lockin import LockInKind, affinity_kind
from ccconsole.core.model import RECEIVE, SEND
from ccconsole.core.routing import Channels
from ccconsole.errors import ValidationFailed
from ccconsole.tui import actions, safe
from ccconsole.tui.base import UsesWorkspace, failure_text
from ccconsole.tui.screens.dialogs import Confirm
from ccconsole.tui.widgets.footer import KeyFooter
from ccconsole.tui.widgets.toggles import MarkedCheckbox

CHANNEL_TYPES = sorted({t for s in urnlib.SCHEMES.values() for t in s.channel_types})


class ChannelsScreen(UsesWorkspace, Screen):
    BINDINGS = actions.bindings("channels")
    top_level = "channels"  # the app action that leads here (tui.app.top_level)
    AUTO_FOCUS = "DataTable"

    class Loaded(Message):
        def __init__(self, channels, counts, error: str | None = None):
            super().__init__()
            self.channels, self.counts, self.error = channels, counts, error

    def __init__(self) -> None:
        super().__init__()
        self._channels: dict = {}  # id -> core Channel, as last loaded

    def compose(self) -> ComposeResult:
        yield Static(safe.content(" Channels — oldest first; routing picks among the active ones"), id="title-bar")
        yield DataTable(id="channels", cursor_type="row", zebra_stripes=True,
                        cursor_foreground_priority="css")
        yield Static("", id="channel-note")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Name", "Type", "Active", "Locked in", "Stale", "Schemes", "Country", "Prefixes",
                          "Roles", "Address")
        self.refresh_data()

    def refresh_data(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="channels")
    def _load(self) -> None:
        try:
            channels = self.workspace.channels.list()
            counts = self.workspace.channels.affinity_counts()
        except Exception as err:
            self.post_message(self.Loaded([], {}, failure_text(err)))
            return
        self.post_message(self.Loaded(channels, counts))

    def on_channels_screen_loaded(self, message: Loaded) -> None:
        if message.error:
            self.notify(safe.visible(message.error), severity="error", markup=False)
            return
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        chans = Channels(message.channels)
        self._channels = {ch.id: ch for ch in message.channels}
        tally: Counter = Counter()
        for (cid, scheme), n in message.counts.items():
            tally[cid, affinity_kind(cid, scheme, chans)] += n
        for ch in message.channels:
            locked, stale = tally[ch.id, LockInKind.LOCKED_IN], tally[ch.id, LockInKind.STALE]
            table.add_row(
                safe.text(ch.name), safe.text(ch.type),
                safe.text("yes" if ch.active else "disabled", "" if ch.active else "yellow"),
                safe.text(f"{locked:,}" if locked else "—"),
                safe.text(f"{stale:,}" if stale else "—", "yellow" if stale else ""),
                safe.text(",".join(ch.schemes)), safe.text(ch.country or "—"),
                safe.text(",".join(ch.match_prefixes) or "—"), safe.text(",".join(sorted(ch.roles))),
                safe.text(ch.address),
                key=str(ch.id),
            )
        if message.channels:
            table.move_cursor(row=min(keep, len(message.channels) - 1))
        self.query_one("#channel-note", Static).update(safe.content(
            " Locked in: contacts whose priority connection has affinity to the channel. "
            "Stale: affinities to a disabled channel, ignored by routing."))

    def _current_id(self) -> int | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        assert key.value is not None  # rows are added with the channel id as key
        return int(key.value)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_add(self) -> None:
        self.app.push_screen(AddChannel(), lambda added: self.refresh_data() if added else None)

    def action_toggle_active(self) -> None:
        cid = self._current_id()
        if cid is None:
            return
        channel = self._channels[cid]
        verb = "Enable" if not channel.active else "Disable"
        detail = ("Routing will ignore it; affinities to it become stale." if channel.active
                  else "Routing will use it again.")

        def answer(yes: bool | None) -> None:
            if yes:
                self._toggle(cid, not channel.active)

        self.app.push_screen(Confirm(f"{verb} channel {channel.name}? {detail}"), answer)

    @work(thread=True, exit_on_error=False, group="channels-write")
    def _toggle(self, cid: int, active: bool) -> None:
        try:
            self.workspace.channels.set_active(str(cid), active)
        except Exception as err:
            self.app.call_from_thread(self.notify, safe.visible(failure_text(err)), severity="error", markup=False)
        self._load()

    def check_action(self, action: str, parameters) -> bool | None:
        spec = actions.by_action("channels", action)
        if spec is not None and spec.mutates and self.console_app.read_only:
            return False
        return True


class AddChannel(UsesWorkspace, ModalScreen):
    """A form for a new channel; returns True when one was added."""

    BINDINGS = [("escape", "cancel", "Cancel"), ("ctrl+s", "save", "Save")]
    AUTO_FOCUS = "#ch-name"  # not the scrolling form around it: typing starts with the name

    def on_mount(self) -> None:
        for label in self.query(".error").results(Label):
            label.display = False

    def compose(self) -> ComposeResult:
        with Vertical(id="add-channel"):
            yield Label("Add channel", id="editor-title")
            with VerticalScroll(id="add-channel-body"):  # scrolls when the terminal is short (80x24)
                for field, label, placeholder in (
                    ("name", "Name", "what staff will see, e.g. the operator and country"),
                    ("address", "Address", "the channel's own number, handle or address"),
                    ("schemes", "Serves", "connection types, comma separated: tel, mailto, twitter, telegram, ext"),
                    ("country", "Country", "two-letter code (phone channels)"),
                    ("prefixes", "Prefixes", "optional: number prefixes it serves best, comma separated"),
                ):
                    with Horizontal(classes="field"):
                        yield Label(label, classes="field-label")
                        yield safe.SafeInput(placeholder=placeholder, id=f"ch-{field}", compact=True)
                    yield Label("", id=f"err-{field}", classes="error")
                with Horizontal(classes="field"):
                    yield Label("Type", classes="field-label")
                    yield Select([(t, t) for t in CHANNEL_TYPES], value="Twilio", allow_blank=False, id="ch-type",
                                 compact=True)
                with Horizontal(classes="field"):
                    yield MarkedCheckbox("send", True, id="ch-send", compact=True)
                    yield MarkedCheckbox("receive", True, id="ch-receive", compact=True)
                    yield MarkedCheckbox("allow international", False, id="ch-intl", compact=True)
                yield Label("", id="err-roles", classes="error")
            with Horizontal(id="editor-buttons"):
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button("Add (^s)", id="save", variant="primary", compact=True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

    class Added(Message):
        def __init__(self, errors: dict[str, str]):
            super().__init__()
            self.errors = errors

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        value = lambda name: self.query_one(f"#ch-{name}", Input).value.strip()  # noqa: E731
        for label in self.query(".error").results(Label):
            label.update("")
            label.display = False
        roles = [r for r, box in ((SEND, "#ch-send"), (RECEIVE, "#ch-receive")) if self.query_one(box, Checkbox).value]
        self._add(value("name"), str(self.query_one("#ch-type", Select).value),
                  [s for s in value("schemes").split(",") if s.strip()],
                  dict(address=value("address"), roles=roles, country=value("country") or None,
                       match_prefixes=[p.strip() for p in value("prefixes").split(",") if p.strip()],
                       allow_international=self.query_one("#ch-intl", Checkbox).value))

    @work(thread=True, exclusive=True, exit_on_error=False, group="add-channel")
    def _add(self, name: str, ctype: str, schemes: list[str], options: dict) -> None:
        try:
            self.workspace.channels.add(name, ctype, schemes, **options)
        except ValidationFailed as err:
            self.post_message(self.Added(err.errors))
            return
        except Exception as err:
            self.post_message(self.Added({"name": failure_text(err)}))
            return
        self.post_message(self.Added({}))

    def on_add_channel_added(self, message: Added) -> None:
        if not message.errors:
            self.dismiss(True)
            return
        for key, text in message.errors.items():
            target = {"match_prefixes": "prefixes"}.get(key, key)
            found = self.query(f"#err-{target}")
            line = found.first(Label) if found else self.query_one("#err-name", Label)
            line.update(safe.content(f"⚠ {text}"))
            line.display = True
