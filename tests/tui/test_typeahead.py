"""Type-ahead (issue 15): a key that opens an input and the text after it, arriving in ONE burst (a
paste, a laggy SSH link), put the whole text in that input and run nothing on the screen underneath.

The keys go straight to the driver one after the other without waiting between them (``pilot.press``
waits for the app to go idle after each key, which is the slow typist this must not depend on).
"""

from __future__ import annotations

from textual import events
from textual.command import CommandPalette
from textual.keys import _character_to_key
from textual.widgets import DataTable, Input

from ccconsole.tui.app import make_app
from ccconsole.tui.screens.audit import AuditScreen
from ccconsole.tui.screens.channels import AddChannel, ChannelsScreen
from ccconsole.tui.screens.contacts import ContactsScreen
from ccconsole.tui.screens.editor import ContactEditor
from ccconsole.tui.screens.lockins import LockInsScreen
from ccconsole.tui.screens.transfer import ExportScreen, ImportScreen
from tests.tui.helpers import ALICE, settle, table, table_ready, wait_for

SIZE = (80, 24)


KEY_NAMES = {"slash": "/", "escape": None, "enter": "\r", "ctrl+p": None}


def burst(app, *items: str) -> None:
    """Each item is a key name from KEY_NAMES or a text, typed character by character."""
    keys: list[tuple[str, str | None]] = []
    for item in items:
        if item in KEY_NAMES:
            keys.append((item, KEY_NAMES[item]))
        else:
            keys += [(c if c.isalnum() else _character_to_key(c), c) for c in item]
    assert app._driver is not None
    for key, char in keys:
        app._driver.send_message(events.Key(key, char))


def stack_types(app) -> list[type]:
    return [type(s) for s in app.screen_stack[1:]]


async def contacts_start(pilot):
    t = await table_ready(pilot)
    await settle(pilot)
    return t


async def test_filter_burst_goes_to_the_filter_not_the_table(ws):
    app = make_app(ws.url)
    async with app.run_test(size=SIZE) as pilot:
        t = await contacts_start(pilot)
        burst(app, "slash", "jane doe")
        box = app.screen.query_one("#filter", Input)
        await wait_for(pilot, lambda: box.value == "jane doe", what="the filter to hold the text")
        await settle(pilot)
        assert stack_types(app) == [ContactsScreen]  # no audit log opened by "a"
        assert t.cursor == 0  # "j" did not move the cursor
        assert app.focused is box


async def test_filter_burst_with_spaces_marks_nothing(ws):
    app = make_app(ws.url)
    async with app.run_test(size=SIZE) as pilot:
        t = await contacts_start(pilot)
        burst(app, "escape", "slash", "0788 11")
        box = app.screen.query_one("#filter", Input)
        await wait_for(pilot, lambda: box.value == "0788 11", what="the filter to hold the number")
        await settle(pilot)
        assert not t.marked  # space did not mark a contact
        assert stack_types(app) == [ContactsScreen]


async def test_import_path_burst_goes_to_the_path(ws, tmp_path):
    app = make_app(ws.url)
    async with app.run_test(size=SIZE) as pilot:
        await contacts_start(pilot)
        path = "/tmp/Lists/HALC Contacts.xlsx"  # H, A, L, C are app keys: none may run
        burst(app, "i", path)
        await wait_for(pilot, lambda: isinstance(app.screen, ImportScreen)
                       and app.screen.query_one("#import-path", Input).value == path, what="the import path")
        await settle(pilot)
        assert stack_types(app) == [ContactsScreen, ImportScreen]


async def test_export_path_burst_goes_to_the_path(ws):
    app = make_app(ws.url)
    async with app.run_test(size=SIZE) as pilot:
        await contacts_start(pilot)
        burst(app, "x", "-ALC")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen)
                       and app.screen.query_one("#export-path", Input).value.endswith("-ALC"),
                       what="the export path")
        await settle(pilot)
        assert stack_types(app) == [ContactsScreen, ExportScreen]


async def test_editor_burst_goes_to_the_name(ws):
    app = make_app(ws.url)
    async with app.run_test(size=SIZE) as pilot:
        await contacts_start(pilot)
        assert table(app).current.name == ALICE
        burst(app, "e", " Jr CAL")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactEditor)
                       and app.screen.query_one("#name", Input).value.endswith(" Jr CAL"), what="the name")
        await settle(pilot)
        assert stack_types(app) == [ContactsScreen, ContactEditor]
        # the name box selects its text when focused: the typed text replaces the loaded name, exactly
        # as when typed slowly; what matters is that the load did not overwrite what was typed
        assert app.screen.query_one("#name", Input).value == " Jr CAL"
        assert app.screen.view.name == ALICE


async def test_add_channel_burst_goes_to_the_name(ws):
    app = make_app(ws.url)
    async with app.run_test(size=SIZE) as pilot:
        await contacts_start(pilot)
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, ChannelsScreen)
                       and app.screen.query_one(DataTable).row_count > 0, what="the channels")
        burst(app, "a", "dark Airtel")  # d would disable the highlighted channel
        await wait_for(pilot, lambda: isinstance(app.screen, AddChannel)
                       and app.screen.query_one("#ch-name", Input).value == "dark Airtel", what="the name")
        await settle(pilot)
        assert stack_types(app) == [ContactsScreen, ChannelsScreen, AddChannel]


async def test_lockins_filter_burst_opens_no_dialog(ws):
    app = make_app(ws.url)
    async with app.run_test(size=SIZE) as pilot:
        await contacts_start(pilot)
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LockInsScreen), what="the lock-ins")
        await settle(pilot)
        burst(app, "slash", "Patrick cm")  # c: Clear, m: Move, space: mark
        screen = app.screen
        box = screen.query_one("#lockin-filter", Input)
        await wait_for(pilot, lambda: box.value == "Patrick cm", what="the lock-ins filter")
        await settle(pilot)
        assert app.screen is screen
        assert not screen.marked


async def test_audit_filter_burst_goes_to_the_text_filter(ws):
    app = make_app(ws.url)
    async with app.run_test(size=SIZE) as pilot:
        await contacts_start(pilot)
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen), what="the audit log")
        await settle(pilot)
        burst(app, "slash", "Gc alice")  # G, c: audit keys
        screen = app.screen
        box = screen.query_one("#audit-text", Input)
        await wait_for(pilot, lambda: box.value == "Gc alice", what="the audit text filter")
        await settle(pilot)
        assert app.screen is screen


async def test_palette_burst_goes_to_the_palette(ws):
    app = make_app(ws.url)
    async with app.run_test(size=SIZE) as pilot:
        await contacts_start(pilot)
        burst(app, "ctrl+p", "Lock")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette)
                       and app.screen.query_one(Input).value == "Lock", what="the palette's input")
        assert stack_types(app) == [ContactsScreen, CommandPalette]


async def test_keys_after_a_key_that_opens_nothing_are_not_lost(ws):
    """Read-only: e opens nothing; the keys after it still work (after the short grace period)."""
    app = make_app(ws.url, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        t = await contacts_start(pilot)
        burst(app, "e", "j")
        await wait_for(pilot, lambda: t.cursor == 1, what="j to move the cursor")
        assert stack_types(app) == [ContactsScreen]
