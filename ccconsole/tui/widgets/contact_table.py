"""The contacts table: virtual and database-backed.

It never holds all contacts: it keeps a window of rows (a few pages) fetched by key from the workspace
(``ccconsole.app.browse``) in thread workers, renders only the visible lines (Line API), and tracks the cursor
by contact id so that refreshes and edits keep it on the same contact. Rows are one line with fixed column widths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, work
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from ccconsole.app.start import PAGE
from ccconsole.core import urns as urnlib
from ccconsole.core.lockin import LockInKind
from ccconsole.core.views import ContactRow
from ccconsole.tui import safe
from ccconsole.tui.base import failure_text

if TYPE_CHECKING:
    from ccconsole.app import Workspace

WINDOW_MAX = 600  # rows kept in memory at most
FETCH = PAGE  # rows fetched per page (the first fetch is the default view's first page: app.start)


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int
    keep: int  # lower numbers are dropped last when the table is narrow


COLUMNS = (
    Column("name", "Name", 0, 0),
    Column("urn", "Connection", 18, 1),
    Column("type", "Type", 8, 3),
    Column("via", "Next via", 20, 2),
    Column("status", "Status", 8, 4),
    Column("seen", "Last seen", 10, 5),
)
NAME_MIN = 14
# plain ANSI attributes: they read the same in every theme and with 16 colours
CELL_STYLES = {
    "dim": Style(dim=True),
    "warning": Style(color="yellow"),
    "error": Style(color="#ff5f5f"),
    "locked": Style(color="green", bold=True),
}


def layout(width: int) -> list[tuple[Column, int]]:
    """Columns that fit ``width`` (dropping the least important first) and their widths."""
    cols = list(COLUMNS)
    while True:
        fixed = sum(c.width + 1 for c in cols if c.key != "name")
        if width - fixed >= NAME_MIN or len(cols) <= 3:
            break
        cols.remove(max((c for c in cols if c.key != "name"), key=lambda c: c.keep))
    fixed = sum(c.width + 1 for c in cols if c.key != "name")
    return [(c, max(NAME_MIN, width - fixed) if c.key == "name" else c.width) for c in cols]


class ContactTable(Widget, can_focus=True):
    """A window onto the contacts of the workspace, by key."""

    DEFAULT_CSS = """
    ContactTable { height: 1fr; }
    ContactTable > .contact-table--header { text-style: bold; }
    ContactTable > .contact-table--cursor { background: #000087; color: #ffffff; }
    ContactTable:focus > .contact-table--cursor { background: #0000af; color: #ffffff; text-style: bold; }
    """
    COMPONENT_CLASSES = {"contact-table--header", "contact-table--cursor"}

    class Highlighted(Message):
        """The cursor is on another contact (or on none)."""

        def __init__(self, row: ContactRow | None):
            super().__init__()
            self.row = row

    class Loaded(Message):
        def __init__(self, generation: int, rows: list[ContactRow], mode: str, anchor: int | None):
            super().__init__()
            self.generation, self.rows, self.mode, self.anchor = generation, rows, mode, anchor

    class Counted(Message):
        def __init__(self, generation: int, total: int):
            super().__init__()
            self.generation, self.total = generation, total

    class Failed(Message):
        def __init__(self, text: str):
            super().__init__()
            self.text = text

    def __init__(self, workspace: Callable[[], Workspace], *, country: str | None, timezone: str = "UTC",
                 id: str | None = None):
        """``workspace`` gives the open workspace (called in the workers: it may wait for it to open)."""
        super().__init__(id=id)
        self._workspace = workspace
        self.country = country
        try:
            self.tz = ZoneInfo(timezone)
        except Exception:  # unknown zone: show UTC rather than fail
            self.tz = ZoneInfo("UTC")
        self.rows: list[ContactRow] = []
        self.cursor = 0
        self.top = 0
        self.at_start = True
        self.at_end = True
        self.fetching = False
        self.loaded_once = False
        self.filter_text: str | None = None
        self.total: int | None = None
        self._generation = 0
        self._pending = 0  # cursor moves waiting for rows that are being fetched
        self._count_after_load: int | None = None  # the generation whose count starts once loaded
        self._showing: tuple[tuple[str, int], int] | None = None  # (key, id) show_contact is bringing into view
        self._last_highlight: int | None = None
        self.marked: set[int] = set()  # contact ids marked with space (kept across filters and reloads)
        self.painted = False  # rows have been drawn (tui.app opens the workspace once they are on screen)

    @property
    def workspace(self) -> Workspace:
        return self._workspace()

    # --- geometry ------------------------------------------------------------------------------

    @property
    def body_height(self) -> int:
        return max(1, self.size.height - 1)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return container.height

    @property
    def current(self) -> ContactRow | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    # --- loading -------------------------------------------------------------------------------

    def load(self, mode: str = "first", key: tuple[str, int] | None = None, anchor: int | None = None) -> None:
        """Fetch rows in a worker: ``first``, ``last``, ``around`` a key, ``after``/``before`` the window."""
        if mode in ("first", "last", "around"):
            self._generation += 1
        self.fetching = True
        self._fetch(self._generation, mode, key, anchor, self.filter_text, max(self.body_height, 10))
        self.refresh()

    @work(thread=True, exclusive=False, exit_on_error=False, group="table-load")
    def _fetch(self, generation: int, mode: str, key, anchor, text, h: int) -> None:
        try:
            if mode == "first":
                rows = self.workspace.browse.page(limit=FETCH, text=text)
            elif mode == "last":
                rows = self.workspace.browse.page(last=True, limit=FETCH, text=text)
            elif mode == "around":
                rows = self.workspace.browse.page_around(key, before=h * 2, after=FETCH, text=text)
            elif mode == "after":
                rows = self.workspace.browse.page(after=key, limit=FETCH, text=text)
            else:
                rows = self.workspace.browse.page(before=key, limit=FETCH, text=text)
        except Exception as err:  # the database is the user's problem to fix, not a crash
            self.post_message(self.Failed(f"Could not load contacts: {failure_text(err)}"))
            return
        self.post_message(self.Loaded(generation, rows, mode, anchor))

    @work(thread=True, exclusive=True, exit_on_error=False, group="table-count")
    def _count(self, generation: int, text: str | None) -> None:
        try:
            total = self.workspace.browse.count(text)
        except Exception as err:
            self.post_message(self.Failed(f"Could not count contacts: {failure_text(err)}"))
            return
        self.post_message(self.Counted(generation, total))

    def show_first_page(self, rows: list[ContactRow]) -> None:
        """Show ``rows`` as the first page of the unfiltered table, read ahead (at start-up): as if
        ``set_filter(None)`` had fetched them."""
        self.filter_text = None
        self.total = None
        self._showing = None
        self._generation += 1
        self._count_after_load = self._generation
        self.on_contact_table_loaded(self.Loaded(self._generation, rows, "first", None))

    def set_filter(self, text: str | None) -> None:
        self.filter_text = text or None
        self.total = None
        self._showing = None
        self.load("first")
        self._count_after_load = self._generation

    def reload(self) -> None:
        """Reload the window around the current contact (after an edit or a change elsewhere), or
        around the one :meth:`show_contact` is still on its way to."""
        row = self.current
        if self._showing is not None:
            self.load("around", self._showing[0], anchor=self._showing[1])
        elif row is None:
            self.load("first")
        else:
            self.load("around", row.key, anchor=row.id)
        self._count_after_load = self._generation

    def show_contact(self, key: tuple[str, int], contact_id: int) -> None:
        """Reload the window around the contact ``key`` and put the cursor on it (after a save or a
        create; a contact the filter does not match leaves the cursor near its place). A reload that
        overtakes this one (the change signal of that very save) goes to the same contact."""
        self._showing = (key, contact_id)
        self.load("around", key, anchor=contact_id)
        self._count_after_load = self._generation

    def on_contact_table_loaded(self, message: Loaded) -> None:
        message.stop()
        if message.generation != self._generation:
            return
        self.fetching = False
        self.loaded_once = True
        if self._count_after_load == message.generation:
            # counting a large set takes a while: start it once the rows are in, so that it never
            # competes with the first page
            self._count_after_load = None
            self._count(message.generation, self.filter_text)
        rows, mode = message.rows, message.mode
        h = self.body_height
        if mode == "first":
            self.rows, self.cursor, self.top = rows, 0, 0
            self.at_start, self.at_end = True, len(rows) < FETCH
        elif mode == "last":
            self.rows = rows
            self.cursor = max(0, len(rows) - 1)
            self.top = max(0, len(rows) - h)
            self.at_start, self.at_end = len(rows) < FETCH, True
        elif mode == "around":
            if self._showing is not None and message.anchor == self._showing[1]:
                self._showing = None  # arrived
            screen_offset = self.cursor - self.top
            index = next((i for i, r in enumerate(rows) if r.id == message.anchor), None)
            if index is None:  # the contact left the view (deleted or filtered out): stay near its place
                index = next((i for i, r in enumerate(rows) if self.current and r.key >= self.current.key), 0)
            self.rows = rows
            self.cursor = min(index, max(0, len(rows) - 1))
            self.top = max(0, self.cursor - max(0, min(screen_offset, h - 1)))
            before = sum(1 for r in rows[:index])
            self.at_start = before < h * 2
            self.at_end = len(rows) - index < FETCH
        elif mode == "after":
            self.rows.extend(r for r in rows if not self.rows or r.key > self.rows[-1].key)
            self.at_end = len(rows) < FETCH
            self._trim(front=True)
        elif mode == "before":
            fresh = [r for r in rows if not self.rows or r.key < self.rows[0].key]
            self.rows[:0] = fresh
            self.cursor += len(fresh)
            self.top += len(fresh)
            self.at_start = len(rows) < FETCH
            self._trim(front=False)
        pending, self._pending = self._pending, 0
        if pending:
            self.move(pending)
        else:
            self._settle()

    def on_contact_table_counted(self, message: Counted) -> None:
        message.stop()
        if message.generation == self._generation:
            self.total = message.total
            self.post_message(self.Highlighted(self.current))
            self.refresh()

    def _trim(self, front: bool) -> None:
        excess = len(self.rows) - WINDOW_MAX
        if excess <= 0:
            return
        if front:
            cut = min(excess, self.top)
            del self.rows[:cut]
            self.cursor -= cut
            self.top -= cut
            self.at_start = self.at_start and cut == 0
        else:
            keep_to = max(self.top + self.body_height, len(self.rows) - excess)
            if keep_to < len(self.rows):
                del self.rows[keep_to:]
                self.at_end = False

    # --- moving --------------------------------------------------------------------------------

    def move(self, delta: int) -> None:
        """Move the cursor by ``delta`` rows, fetching more rows by key when the window ends."""
        if not self.rows:
            return
        target = self.cursor + delta
        if target >= len(self.rows) and not self.at_end:
            if not self.fetching:
                self._pending = target - (len(self.rows) - 1)
                self.cursor = len(self.rows) - 1
                self.load("after", self.rows[-1].key)
            target = len(self.rows) - 1
        elif target < 0 and not self.at_start:
            if not self.fetching:
                self._pending = target
                self.cursor = 0
                self.load("before", self.rows[0].key)
            target = 0
        self.cursor = max(0, min(target, len(self.rows) - 1))
        self._settle()
        # prefetch so that scrolling on does not wait
        if not self.fetching and not self.at_end and len(self.rows) - self.cursor < self.body_height * 2:
            self.load("after", self.rows[-1].key)
        elif not self.fetching and not self.at_start and self.cursor < self.body_height * 2:
            self.load("before", self.rows[0].key)

    def _settle(self) -> None:
        h = self.body_height
        if self.cursor < self.top:
            self.top = self.cursor
        elif self.cursor >= self.top + h:
            self.top = self.cursor - h + 1
        self.top = max(0, min(self.top, max(0, len(self.rows) - 1)))
        row = self.current
        if row is None or row.id != self._last_highlight:
            self._last_highlight = row.id if row else None
            self.post_message(self.Highlighted(row))
        self.refresh()

    def first(self) -> None:
        if self.at_start:
            self.cursor = 0
            self._settle()
        else:
            self.load("first")

    def last(self) -> None:
        if self.at_end:
            self.cursor = max(0, len(self.rows) - 1)
            self._settle()
        else:
            self.load("last")

    def page(self, direction: int) -> None:
        self.move(direction * max(1, self.body_height - 1))

    def select_id(self, contact_id: int) -> None:
        for i, row in enumerate(self.rows):
            if row.id == contact_id:
                self.cursor = i
                self._settle()
                return

    def toggle_mark(self) -> None:
        """Mark or unmark the contact under the cursor, then move down (as in file managers)."""
        row = self.current
        if row is None:
            return
        self.marked.symmetric_difference_update({row.id})
        self.post_message(self.Highlighted(row))  # the screen shows the number marked
        self.move(1)
        self.refresh()

    def unmark_all(self) -> None:
        self.marked.clear()
        self.post_message(self.Highlighted(self.current))
        self.refresh()

    def replace_rows(self, fresh: list[ContactRow]) -> None:
        """Swap in refreshed rows for contacts already in the window (same ids), keeping the cursor."""
        by_id = {r.id: r for r in fresh}
        self.rows = [by_id.get(r.id, r) for r in self.rows]
        self.refresh()
        self.post_message(self.Highlighted(self.current))

    # --- mouse ---------------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            index = self.top + event.y - 1
            if index < len(self.rows):
                self.cursor = index
                self._settle()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.move(3)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.move(-3)

    # --- drawing -------------------------------------------------------------------------------

    def _cells(self, row: ContactRow) -> dict[str, Text]:
        dim = CELL_STYLES["dim"]
        cells = {
            "name": safe.text(row.name) if row.name else Text("(no name)", style=dim),
            "urn": safe.text(urnlib.display_identity(row.priority_identity, self.country))
            if row.priority_identity else Text("—", style=dim),
            "type": safe.text(row.priority_identity.partition(":")[0]) if row.priority_identity else Text(""),
            "status": Text(row.status, style=dim if row.status == "active" else
                           CELL_STYLES["warning"]),
            "seen": Text(self._date(row.last_seen_on), style=dim),
        }
        route, kind = row.route, row.lock_in.kind
        if route.ok:
            assert route.channel is not None
            via = safe.text(route.channel.name)
            if kind == LockInKind.LOCKED_IN:
                via.truncate(17, overflow="ellipsis")
                via.append(" ●", style=CELL_STYLES["locked"])
        elif row.status != "active":
            via = Text("— not active", style=dim)
        else:
            via = Text("— no route", style=CELL_STYLES["error"])
        if kind == LockInKind.STALE:  # the contact's lock-in is stale, not the channel shown (? explains)
            via.truncate(17, overflow="ellipsis")
            via.append(" ⚠", style=CELL_STYLES["warning"])
        cells["via"] = via
        if row.id in self.marked:
            cells["name"] = Text("✓ ", style=CELL_STYLES["locked"]) + cells["name"]
        return cells

    def _date(self, when: datetime | None) -> str:
        return when.astimezone(self.tz).strftime("%Y-%m-%d") if when else "never"

    def _line(self, cells: dict[str, Text], width: int) -> Text:
        line = Text(no_wrap=True)
        for column, w in layout(width):
            cell = cells.get(column.key, Text("")).copy()
            cell.truncate(w, overflow="ellipsis", pad=True)
            line.append_text(cell)
            line.append(" ")
        line.truncate(width, pad=True)
        return line

    def render_line(self, y: int) -> Strip:
        self.painted = True
        width = self.size.width
        console = self.app.console
        if y == 0:
            header = self._line({c.key: Text(c.title) for c in COLUMNS}, width)
            strip = Strip(header.render(console), width)
            return strip.apply_style(self.get_component_rich_style("contact-table--header"))
        index = self.top + y - 1
        if index >= len(self.rows):
            if y == 1 and not self.rows:
                message = "Loading…" if (self.fetching or not self.loaded_once) else (
                    "No contact matches this filter." if self.filter_text else "No contacts yet.")
                return Strip([Segment(message.ljust(width)[:width], CELL_STYLES["dim"])],
                             width)
            return Strip.blank(width, self.rich_style)
        row = self.rows[index]
        cells = self._cells(row)
        if index == self.cursor:  # one colour on the cursor: a cell's own red or yellow could vanish in it
            cells = {key: Text(cell.plain, no_wrap=True, overflow="ellipsis") for key, cell in cells.items()}
        strip = Strip(self._line(cells, width).render(console), width)
        if index == self.cursor:
            strip = strip.apply_style(self.get_component_rich_style("contact-table--cursor"))
        return strip.apply_style(self.rich_style)

    def position_label(self) -> str:
        """``123 of 3,000`` style text for the border (approximate while the count is pending)."""
        total = "…" if self.total is None else f"{self.total:,}"
        marked = f" · {len(self.marked):,} marked" if self.marked else ""
        return f"{total} contact{'' if self.total == 1 else 's'}{marked}"
