"""Colours over SSH (issue 15): every screen and dialog at 80x24, rendered, each run of text's colours
downgraded as Rich downgrades them for a 16- and a 256-colour terminal and looked up in xterm's default
palette, reaches 4.5:1 (WCAG) against its background — cursor rows (on a "stopped" contact and on a
disabled channel), footer keys, status colours, buttons, tabs, placeholders."""

from __future__ import annotations

from rich.color import ColorSystem
from textual.widgets import DataTable

from ccconsole.tui.app import make_app
from ccconsole.tui.screens.audit import AuditScreen
from ccconsole.tui.screens.bulk import BulkAffinity
from ccconsole.tui.screens.channels import AddChannel, ChannelsScreen
from ccconsole.tui.screens.contacts import ContactsScreen
from ccconsole.tui.screens.dialogs import HelpScreen
from ccconsole.tui.screens.editor import ContactEditor
from ccconsole.tui.screens.history import HistoryScreen
from ccconsole.tui.screens.lockins import LockInsScreen
from ccconsole.tui.screens.transfer import ImportScreen
from tests.tui.contrast import XTERM_16, contrast, pairs
from tests.tui.helpers import no_blink, settle, table, table_ready, wait_for

SYSTEMS = (ColorSystem.STANDARD, ColorSystem.EIGHT_BIT)
MINIMUM = 4.5


def test_the_measure_itself():
    """The figures the issue reported come out of the same arithmetic (xterm's palette)."""
    red, bright_red, grey, white, cyan = XTERM_16[1], XTERM_16[9], XTERM_16[8], XTERM_16[15], XTERM_16[6]
    assert contrast(bright_red, bright_red) == 1.0
    assert round(contrast(bright_red, grey), 1) == 1.0  # red footer keys on grey
    assert contrast(red, grey) < 1.5
    assert round(contrast(XTERM_16[7], cyan), 1) == 1.6  # white on cyan cursor rows
    assert contrast((0, 0, 0), white) == 21.0


class Report:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.checked: dict[str, int] = {}

    def check(self, app, what: str) -> None:
        for system in SYSTEMS:
            found = pairs(app, system)
            self.checked[f"{what}@{system.name}"] = len(found)
            for p in found:
                if p.ratio < MINIMUM:
                    self.failures.append(f"{what} at {system.name}: {p.text[:40]!r} {p.fg} on {p.bg} = {p.ratio:.2f}")


async def show(pilot, key: str, kind: type, ready=None) -> None:
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind) and (ready is None or ready(pilot.app.screen)),
                   what=f"{kind.__name__} after {key}")
    await settle(pilot)
    no_blink(pilot.app)
    await pilot.pause()


async def test_every_screen_reads_at_16_and_256_colours(demo_url):
    app = make_app(demo_url, label="demo.db")
    report = Report()
    async with app.run_test(size=(80, 24)) as pilot:
        t = await table_ready(pilot)
        await settle(pilot)
        stopped = next(i for i, r in enumerate(t.rows) if r.status == "stopped")
        while t.cursor < stopped:
            await pilot.press("j")
        await settle(pilot)
        assert table(app).current.status == "stopped"
        report.check(app, "contacts, cursor on a stopped contact")

        await show(pilot, "e", ContactEditor, lambda s: s.view is not None)
        report.check(app, "Update Contact")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen), what="home")

        await show(pilot, "h", HistoryScreen)
        report.check(app, "history")
        await pilot.press("escape")

        await show(pilot, "C", ChannelsScreen, lambda s: s.query_one(DataTable).row_count > 5)
        channels = app.screen.query_one(DataTable)
        disabled = next(i for i in range(channels.row_count) if "disabled" in str(channels.get_row_at(i)[2]))
        channels.move_cursor(row=disabled)
        await settle(pilot)
        report.check(app, "channels, cursor on a disabled channel")
        await show(pilot, "a", AddChannel)
        report.check(app, "Add channel")
        await pilot.press("escape")

        await show(pilot, "L", LockInsScreen, lambda s: s.query_one("#lockins", DataTable).row_count > 0)
        report.check(app, "lock-ins")
        await show(pilot, "m", BulkAffinity)
        report.check(app, "Move affinities")
        await pilot.press("escape")

        await show(pilot, "A", AuditScreen)
        report.check(app, "audit log")
        await show(pilot, "question_mark", HelpScreen)
        report.check(app, "help")
        await pilot.press("escape")
        await show(pilot, "H", ContactsScreen)
        await show(pilot, "i", ImportScreen)
        report.check(app, "import")
    assert all(n > 5 for n in report.checked.values()), report.checked  # each screen had text to check
    assert not report.failures, "\n".join(report.failures)
