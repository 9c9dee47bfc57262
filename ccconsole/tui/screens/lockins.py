"""The lock-ins screen: per channel, which contacts are locked in to it and why (domain.md section 5).

Top: every channel with its counts by kind (locked in, single channel, stale, not priority); the
highlighted channel filters the list below. Tabs pick the kind, ``/`` filters by name or connection.
The list shows each affinity with its contact, connection, since when, the inbound message that set
it and the three lock-in conditions; the line under it spells the conditions out. Staff clear or move
affinities (the marked ones, the highlighted one, or everything listed) through a confirmation that
shows progress and can be cancelled. What each affinity amounts to is decided by ``core.lockin``.
"""

from __future__ import annotations

from collections import Counter
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Input,
    Static,
    Tab,
    Tabs,
)

from ccconsole.app import lockins
from ccconsole.core import query
from ccconsole.core import urns as urnlib
from ccconsole.core.lockin import KIND_TEXT, LockInKind
from ccconsole.core.model import Channel
from ccconsole.tui import actions, safe
from ccconsole.tui.base import UsesWorkspace, failure_text
from ccconsole.tui.screens.bulk import BulkAffinity
from ccconsole.tui.widgets.footer import KeyFooter

ROW_LIMIT = 1000
KINDS = (LockInKind.LOCKED_IN, LockInKind.SINGLE_CHANNEL, LockInKind.STALE, LockInKind.DORMANT)
KIND_STYLE = {LockInKind.LOCKED_IN: "green", LockInKind.SINGLE_CHANNEL: "", LockInKind.STALE: "yellow",
              LockInKind.DORMANT: "dim"}
ALL = "all"


def conditions_mark(row: lockins.AffinityRow) -> Text:
    out = Text()
    for cond in row.state.conditions:
        out.append("✓" if cond.met else "✗", style="green" if cond.met else "#ff5f5f")
    return out


class LockInsScreen(UsesWorkspace, Screen):
    BINDINGS = actions.bindings("lockins")
    top_level = "lockins"  # the app action that leads here (tui.app.top_level)
    AUTO_FOCUS = "#lockins"

    class Loaded(Message):
        def __init__(self, token: int, channels=None, groups=None, rows=None, error: str | None = None):
            super().__init__()
            self.token, self.channels, self.groups, self.rows, self.error = token, channels, groups, rows, error

    def __init__(self) -> None:
        super().__init__()
        self.channel_id: int | None = None
        self.kind: LockInKind | None = LockInKind.LOCKED_IN
        self.text: str | None = None
        self.marked: set[int] = set()
        self._rows: dict[int, lockins.AffinityRow] = {}
        self._channels: dict[int, Channel] = {}
        self._groups: list[lockins.Group] = []
        self._token = 0
        self.narrow = False


    def compose(self) -> ComposeResult:
        yield Static(id="title-bar")
        yield DataTable(id="lockin-channels", cursor_type="row", zebra_stripes=True,
                        cursor_foreground_priority="css")
        yield Tabs(*(Tab(KIND_TEXT[k].capitalize(), id=f"kind-{k.value}") for k in KINDS),
                   Tab("All", id=f"kind-{ALL}"), id="lockin-kinds")
        yield safe.SafeInput(placeholder="filter: name or connection fragment (esc clears)", id="lockin-filter")
        yield DataTable(id="lockins", cursor_type="row", zebra_stripes=True,
                        cursor_foreground_priority="css")
        yield Static(id="lockin-detail")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#title-bar", Static).update(safe.content(
            " Lock-ins — which contacts are locked in to which channel, and why"))
        self.narrow = self.app.size.width < 110  # 80x24 over SSH: Since and Message move to the pane below
        chans = self.query_one("#lockin-channels", DataTable)
        kinds_width = sum(len(KIND_TEXT[k]) for k in KINDS)
        inner = self.app.size.width - 4 - 2 * (2 + len(KINDS))  # borders, scrollbar, two columns of padding each
        serves = 10 if not self.narrow else 8
        chans.add_column("Channel", width=22 if not self.narrow else max(10, inner - kinds_width - serves))
        chans.add_column("Serves", width=serves)
        for kind in KINDS:
            chans.add_column(KIND_TEXT[kind].capitalize(), width=len(KIND_TEXT[kind]))
        chans.border_title = "Channels"
        table = self.query_one("#lockins", DataTable)
        table.add_column(" ", key="mark", width=1)
        table.add_column("Contact", key="contact", width=20 if not self.narrow else 17)
        table.add_column("Connection", key="connection", width=18 if not self.narrow else 14)
        table.add_column("Channel", key="channel", width=14)
        table.add_column("State", key="state", width=14)
        table.add_column("Why", key="conds", width=3)
        if not self.narrow:
            table.add_column("Since", key="since", width=16)
            table.add_column("Message", key="message", width=14)
        self.query_one("#lockin-filter", Input).display = False
        self.refresh_data()

    # --- loading -------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        """Reload counts and rows (the app calls this when data changed anywhere)."""
        self._token += 1
        self._load(self._token, self.channel_id, self.kind, self.text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="lockins")
    def _load(self, token: int, channel_id: int | None, kind: LockInKind | None, text: str | None) -> None:
        try:
            channels = self.workspace.channels.list()
            groups = self.workspace.lockins.groups()
            rows = self.workspace.lockins.rows(channel_id=channel_id, kinds=[kind] if kind else None, text=text,
                                limit=ROW_LIMIT, known=groups)
        except Exception as err:
            self.post_message(self.Loaded(token, error=failure_text(err)))
            return
        self.post_message(self.Loaded(token, channels, groups, rows))

    def on_lock_ins_screen_loaded(self, message: Loaded) -> None:
        if message.error:
            self.notify(safe.visible(message.error), severity="error", markup=False)
            return
        if message.token != self._token:
            return  # the filter changed meanwhile; a newer load is on its way
        self._channels = {ch.id: ch for ch in message.channels}
        self._groups = message.groups
        self._fill_channels()
        self._fill_rows(message.rows)

    def _tally(self) -> Counter:
        tally: Counter = Counter()
        for g in self._groups:
            tally[g.channel_id, g.kind] += g.count
            tally[None, g.kind] += g.count
        return tally

    def _fill_channels(self) -> None:
        table = self.query_one("#lockin-channels", DataTable)
        tally = self._tally()
        keep = self.channel_id
        table.clear()

        def cells(key, name: Text, serves: str) -> list:
            return [name, safe.text(serves)] + [
                safe.text(f"{tally[key, k]:,}" if tally[key, k] else "—",
                          KIND_STYLE[k] if tally[key, k] else "dim") for k in KINDS]

        table.add_row(*cells(None, Text("All channels", style="bold"), ""), key=ALL)
        for ch in self._channels.values():
            name = safe.text(ch.name + ("" if ch.active else " (off)"), "" if ch.active else "yellow")
            table.add_row(*cells(ch.id, name, ",".join(ch.schemes)), key=str(ch.id))
        index = 0 if keep is None else table.get_row_index(str(keep)) if str(keep) in table.rows else 0
        table.move_cursor(row=index, animate=False)
        table.styles.height = min(table.row_count + 3, 8 if not self.narrow else 6)  # header, rows, borders
        tabs = self.query_one(Tabs)
        for k in KINDS:
            tab = tabs.query_one(f"#kind-{k.value}", Tab)
            tab.label = f"{KIND_TEXT[k].capitalize()} {tally[self.channel_id, k]:,}"
        everything = sum(tally[self.channel_id, k] for k in KINDS)
        tabs.query_one(f"#kind-{ALL}", Tab).label = f"All {everything:,}"

    def _fill_rows(self, rows: list[lockins.AffinityRow]) -> None:
        table = self.query_one("#lockins", DataTable)
        current = self._current()
        keep_key = current.connection_id if current else None
        keep_index = table.cursor_row
        zone = self._zone()
        table.clear()
        self._rows = {r.connection_id: r for r in rows}
        self.marked &= set(self._rows)
        country = self.workspace.info.country
        for r in rows:
            channel = self._channels.get(r.channel_id)
            table.add_row(
                Text("●" if r.connection_id in self.marked else " ", style="bold"),
                safe.text(r.contact_name or "(no name)", "" if r.contact_name else "dim"),
                safe.text(urnlib.display_identity(r.identity, country)),
                safe.text(channel.name if channel else "?"),
                safe.text(KIND_TEXT[r.kind], KIND_STYLE[r.kind]),
                conditions_mark(r),
                *(() if self.narrow else (
                    safe.text(f"{r.since.astimezone(zone):%Y-%m-%d %H:%M}" if r.since else "—"),
                    safe.text(r.message_text if r.message_text is not None else "—",
                              "" if r.message_text is not None else "dim"))),
                key=str(r.connection_id),
            )
        if rows:
            index = table.get_row_index(str(keep_key)) if keep_key in self._rows else min(keep_index, len(rows) - 1)
            table.move_cursor(row=index, animate=False)
        total = self._listed_total()
        title = KIND_TEXT[self.kind].capitalize() if self.kind else "All affinities"
        where = self._channels[self.channel_id].name if self.channel_id in self._channels else "all channels"
        table.border_title = safe.content(f"{title} · {where}" + (f"  /{self.text}" if self.text else ""))
        shown = f"{len(rows):,}" if total is None or len(rows) == total else f"first {len(rows):,} of {total:,}"
        table.border_subtitle = safe.content(
            f"{shown}" + (f" · {len(self.marked):,} marked" if self.marked else ""))
        self._show_detail()

    def _listed_total(self) -> int | None:
        """How many affinities the current listing selects (None when a text filter makes it unknown)."""
        if self.text:
            return None
        tally = self._tally()
        kinds = [self.kind] if self.kind else KINDS
        return sum(tally[self.channel_id, k] for k in kinds)

    def _zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.workspace.info.timezone)
        except Exception:
            return ZoneInfo("UTC")

    def _current(self) -> lockins.AffinityRow | None:
        table = self.query_one("#lockins", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        assert key.value is not None  # rows are added with their connection id as key
        return self._rows.get(int(key.value))

    def _show_detail(self) -> None:
        row = self._current()
        detail = self.query_one("#lockin-detail", Static)
        if row is None:
            detail.update(safe.content(" No affinities here." if not self.text else " Nothing matches the filter."))
            return
        lines = Text()
        if self.narrow:  # the columns that do not fit at 80 columns
            since = f"{row.since.astimezone(self._zone()):%Y-%m-%d %H:%M %Z}" if row.since else "—"
            lines.append_text(safe.text(f" since {since}", "dim"))
            if row.message_text is not None:
                lines.append_text(safe.text(" · set by the message ", "dim"))
                lines.append_text(safe.text(f"“{row.message_text}”"))
            lines.append("\n")
        for n, cond in enumerate(row.state.conditions, 1):
            lines.append(f" {n} ✓ " if cond.met else f" {n} ✗ ", style="green" if cond.met else "#ff5f5f")
            lines.append_text(safe.text(cond.text, wrap=True))
            lines.append("\n")
        tail = f" priority connection: {row.priority_identity}"
        if row.state.stale_reason:
            tail += f" · ignored by routing: {row.state.stale_reason}"
        lines.append_text(safe.text(tail, "dim", wrap=True))
        detail.update(lines)

    # --- events --------------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#lockin-channels")
    def _channel_picked(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row != event.data_table.cursor_row:
            return  # stale: posted while the table was being refilled
        value = event.row_key.value
        assert value is not None  # rows are added with a key
        channel_id = None if value == ALL else int(value)
        if channel_id != self.channel_id:
            self.channel_id = channel_id
            self.marked.clear()
            self.refresh_data()

    @on(DataTable.RowHighlighted, "#lockins")
    def _row_highlighted(self) -> None:
        self._show_detail()

    @on(Tabs.TabActivated)
    def _kind_picked(self, event: Tabs.TabActivated) -> None:
        assert event.tab.id is not None  # kind-<kind>
        value = event.tab.id.removeprefix("kind-")
        kind = None if value == ALL else LockInKind(value)
        if kind != self.kind:
            self.kind = kind
            self.marked.clear()
            self.refresh_data()

    def _query_problem(self, text: str) -> str | None:
        """The filter is a contact query (core.query): what is wrong with it, or None."""
        try:
            query.parse(text, self.workspace.info.country)
        except query.QueryError as err:
            return str(err)
        return None

    @on(Input.Changed, "#lockin-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._query_problem(event.value):
            return  # half-typed: keep listing by the last good filter
        self.text = event.value.strip() or None
        self.refresh_data()

    @on(Input.Submitted, "#lockin-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        problem = self._query_problem(event.value)
        if problem:
            self.notify(safe.visible(f"Bad query: {problem}"), severity="error", markup=False)
            return
        if not event.value.strip():
            event.input.display = False
        self.query_one("#lockins", DataTable).focus()

    # --- actions -------------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#lockin-filter", Input)
        box.display = True
        box.focus()

    def action_back(self) -> None:
        box = self.query_one("#lockin-filter", Input)
        if box.display and (box.has_focus or box.value):
            box.value = ""
            box.display = False
            self.query_one("#lockins", DataTable).focus()
            return
        self.app.pop_screen()

    def action_kind(self, index: int) -> None:
        tabs = self.query_one(Tabs)
        tab_ids = [f"kind-{k.value}" for k in KINDS] + [f"kind-{ALL}"]
        tabs.active = tab_ids[index]

    def action_mark(self) -> None:
        row = self._current()
        if row is None:
            return
        self.marked ^= {row.connection_id}
        table = self.query_one("#lockins", DataTable)
        table.update_cell(str(row.connection_id), "mark",
                          Text("●" if row.connection_id in self.marked else " ", style="bold"))
        table.move_cursor(row=table.cursor_row + 1)
        total = self._listed_total()
        shown = len(self._rows)
        table.border_subtitle = safe.content(
            (f"{shown:,}" if total is None or shown == total else f"first {shown:,} of {total:,}")
            + (f" · {len(self.marked):,} marked" if self.marked else ""))

    def action_history(self) -> None:
        row = self._current()
        if row is not None:
            from ccconsole.tui.screens.history import HistoryScreen

            self.app.push_screen(HistoryScreen(row.contact_id, row.contact_name))

    def _bulk(self, verb: str) -> None:
        row = self._current()
        if row is None and not self.marked:
            return
        listing = dict(channel_id=self.channel_id, kinds=[self.kind] if self.kind else None, text=self.text)
        if self.marked:
            some = (f"the {len(self.marked):,} marked", sorted(self.marked))
        else:
            assert row is not None
            some = (f"{row.contact_name or row.identity} ({row.identity})", [row.connection_id])
        targets = [ch for ch in self._channels.values() if ch.active and ch.can_send]
        total = self._listed_total()
        self.app.push_screen(BulkAffinity(verb, some, listing, total, targets, self.channel_id),
                             lambda done: self._bulk_done(done) if done else None)

    def _bulk_done(self, summary: str) -> None:
        self.marked.clear()
        self.notify(summary, markup=False)
        self.refresh_data()

    def action_clear(self) -> None:
        self._bulk("clear")

    def action_move(self) -> None:
        self._bulk("move")

    def check_action(self, action: str, parameters) -> bool | None:
        spec = actions.by_action("lockins", action)
        return not (spec is not None and spec.mutates and self.console_app.read_only)
