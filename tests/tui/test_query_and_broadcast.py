"""The query bar, marking and the broadcast preview through Pilot, the way staff use them."""

from __future__ import annotations

from textual.widgets import Input, Static

from ccconsole.app import open_workspace
from ccconsole.tui.app import make_app
from ccconsole.tui.screens.broadcast import BroadcastPreview
from ccconsole.tui.screens.contacts import ContactsScreen
from tests.tui.helpers import (
    ALICE,
    BOB,
    CAROL,
    DORA,
    GRACE,
    OLGA,
    open_editor,
    settle,
    static_text,
    table_ready,
    type_text,
    wait_for,
)
from tests.tui.test_flows import saved


def status_line(app) -> str:
    return static_text(app.screen.query_one("#filter-status", Static))


async def broadcast_text(pilot) -> str:
    """Press b; wait for the preview to finish; its text."""
    await pilot.press("b")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, BroadcastPreview)
                   and pilot.app.screen.result is not None, what="the broadcast preview")
    return static_text(pilot.app.screen.query_one("#broadcast-body", Static))


async def test_a_query_shows_its_canonical_form_and_filters(ws):
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "tel ~ 0788 or group = nobody")
        await table_ready(pilot, "tel ~ 0788 or group = nobody")
        assert status_line(app) == "= tel ~ 0788 OR group = nobody"
        assert [r.name for r in t.rows] == [ALICE, BOB, GRACE, OLGA]
        assert t.total == 4
        assert "/tel ~ 0788 OR group = nobody" in t.border_title


async def test_a_bad_query_says_what_and_where_and_keeps_the_table(ws):
    app = make_app(ws.url)
    async with app.run_test(size=(80, 24)) as pilot:
        t = await table_ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "status = blocked")
        await table_ready(pilot, "status = blocked")
        assert t.rows == []
        await pilot.press("backspace", "backspace", "backspace", "backspace", "backspace", "backspace",
                          "backspace")  # "status = " : a value is missing
        await pilot.pause(0.2)
        assert status_line(app).startswith("✗ A value is missing after the operator")
        assert "(column 9)" in status_line(app)  # just after the operator
        assert app.screen.query_one("#filter-status", Static).has_class("error")
        assert t.filter_text == "status = blocked"  # the last good query still shows
        await pilot.press("enter")  # refused: the text stays for fixing, the focus too
        assert app.screen.query_one("#filter", Input).value == "status = "
        await type_text(pilot, "active")
        await table_ready(pilot, "status = active")
        assert status_line(app) == "= status = active"
        assert len(t.rows) == 6


async def test_marking_shows_the_count_and_the_broadcast_splits_the_marked(ws):
    """S1 in the console: mark A, B and C; the preview shows three channels processing the one send
    request; promoting A's Telegram id in Update Contact moves A to Telegram in the preview."""
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        assert [r.name for r in t.rows[:3]] == [ALICE, BOB, CAROL]
        await pilot.press("space", "space", "space")  # each mark moves the cursor down
        assert t.marked == {ws.ids[ALICE], ws.ids[BOB], ws.ids[CAROL]}
        assert t.current.name == DORA
        assert "3 marked" in t.border_subtitle
        assert "✓ " + ALICE in t.render_line(1).text
        text = await broadcast_text(pilot)
        lines = text.splitlines()
        assert lines[0] == "Send to 3 contacts → 3 channels process 1 send request"
        assert sorted(lines[1:]) == ["  MTN: 1", "  Telegram: 1", "  Twitter: 1"]
        assert "the 3 marked contacts" in static_text(app.screen.query_one("#broadcast-title"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen), what="the preview to close")
        # promote Alice's Telegram id to the top in Update Contact
        await pilot.press("g")
        await wait_for(pilot, lambda: t.current.name == ALICE)
        editor = await open_editor(pilot)
        editor.query_one("#conn-2", Input).focus()
        await pilot.pause()
        await pilot.press("alt+up")
        await wait_for(pilot, lambda: app.focused is editor.query_one("#conn-1", Input))
        await pilot.press("alt+up")
        await wait_for(pilot, lambda: editor.query_one("#conn-0", Input).value == "111111")
        await saved(pilot)
        text = await broadcast_text(pilot)
        lines = text.splitlines()
        assert lines[0] == "Send to 3 contacts → 2 channels process 1 send request"
        assert sorted(lines[1:]) == ["  Telegram: 2", "  Twitter: 1"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen))
        await pilot.press("u")  # unmark all
        assert t.marked == set() and "marked" not in t.border_subtitle


async def test_broadcast_for_the_current_query_with_unreachable_and_inactive(ws):
    store = open_workspace(ws.url)
    store.contacts.create("Eve Ecuador", ["tel:+593991234567"])
    store.contacts.update(ws.ids[OLGA], status="blocked")
    store.close()
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "tel != \"\"")
        await pilot.press("enter")
        await table_ready(pilot, 'tel != ""')
        text = await broadcast_text(pilot)
        assert "contacts matching tel != \"\"" in static_text(app.screen.query_one("#broadcast-title"))
        assert text.splitlines()[0] == "Send to 7 contacts → 4 channels process 1 send request"
        assert "  No route: 1" in text and "    no phone channel may send to EC numbers: 1" in text
        assert "  Not active: 1 (blocked 1)" in text
        await pilot.press("escape")
        await settle(pilot)
