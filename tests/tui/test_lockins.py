"""Lock-ins, history, what-if and live refresh in the console (issue 4, scenario S3), through Pilot.

The live-refresh tests run the real command line in another process while the app runs."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from textual.widgets import DataTable, Input, Select, Static

from ccconsole.app import open_workspace
from ccconsole.core.lockin import LockInKind
from ccconsole.tui.app import make_app
from ccconsole.tui.screens.bulk import BulkAffinity
from ccconsole.tui.screens.history import HistoryScreen
from ccconsole.tui.screens.lockins import LockInsScreen
from ccconsole.tui.screens.whatif import WhatIf
from tests.tui.conftest import _url
from tests.tui.helpers import (
    ALICE,
    BOB,
    demo_workspace,
    preview_for,
    preview_text,
    row_text,
    select_name,
    settle,
    static_text,
    table_ready,
    type_text,
    wait_for,
)

CCCONSOLE = Path(sys.executable).with_name("ccconsole")
SIZE = (120, 40)


def cli(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CCCONSOLE), "--db", url, "--actor", "other-agent", *args],
                          capture_output=True, text=True, timeout=60)


def cell_texts(dt: DataTable) -> list[list[str]]:
    return [[getattr(c, "plain", str(c)) for c in dt.get_row_at(i)] for i in range(dt.row_count)]


async def open_lockins(pilot) -> LockInsScreen:
    await pilot.press("L")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, LockInsScreen)
                   and pilot.app.screen.query_one("#lockin-channels", DataTable).row_count > 0, what="lock-ins")
    await settle(pilot)
    return pilot.app.screen


def listed(screen: LockInsScreen) -> list[tuple[str, str, str]]:
    """(contact, channel, state) of every row listed."""
    return [(r[1], r[3], r[4]) for r in cell_texts(screen.query_one("#lockins", DataTable))]


async def test_s3_lock_ins_screen_lists_jane_with_the_message_and_three_conditions(ws):
    store = ws.store()
    store.messages.receive("Airtel", "tel:+250788111001", "Muraho from Airtel")  # Alice writes in via the other channel
    store.close()
    app = make_app(ws.url)
    async with app.run_test(size=SIZE) as pilot:
        await table_ready(pilot)
        screen = await open_lockins(pilot)
        assert listed(screen) == [(ALICE, "Airtel", "locked in")]
        row = cell_texts(screen.query_one("#lockins", DataTable))[0]
        assert row[2] == "0788 111 001" and row[5] == "✓✓✓" and row[7] == "Muraho from Airtel"
        detail = static_text(screen.query_one("#lockin-detail", Static))
        assert "1 ✓ several active channels serve tel (2)" in detail
        assert "3 ✓ the priority connection has affinity to Airtel" in detail
        # the channels summary counts her under Airtel
        summary = {r[0]: r for r in cell_texts(screen.query_one("#lockin-channels", DataTable))}
        assert summary["Airtel"][2] == "1" and summary["MTN"][2] == "—"
        # the Airtel channel is disabled elsewhere: she moves to the stale list, live
        other = ws.store()
        other.channels.set_active("Airtel", False)
        other.close()
        await wait_for(pilot, lambda: listed(screen) == [], timeout=3, what="the lock-in to leave the list")
        await pilot.press("3")  # stale
        await wait_for(pilot, lambda: listed(screen) == [(ALICE, "Airtel", "stale")], what="the stale list")
        assert "ignored by routing: Airtel is inactive" in static_text(screen.query_one("#lockin-detail", Static))


async def test_filter_by_channel_and_text_and_mark_then_clear_with_confirmation(ws):
    store = ws.store()
    store.messages.receive("MTN", "tel:+250788111001", "a")
    store.messages.receive("MTN", "tel:+250788111002", "b")  # Bob: his phone is now first
    store.messages.receive("Airtel", "tel:+250730111003", "c")
    store.close()
    app = make_app(ws.url, actor="agent-7")
    async with app.run_test(size=SIZE) as pilot:
        await table_ready(pilot)
        screen = await open_lockins(pilot)
        assert len(listed(screen)) == 3
        # the channel table's highlight filters the list
        screen.query_one("#lockin-channels", DataTable).focus()
        await pilot.press("down")  # MTN
        await wait_for(pilot, lambda: [r[1] for r in listed(screen)] == ["MTN", "MTN"], what="MTN only")
        screen.query_one("#lockins", DataTable).focus()
        await pilot.press("slash")
        await type_text(pilot, "bob")
        await wait_for(pilot, lambda: [r[0] for r in listed(screen)] == [BOB], what="the text filter")
        await pilot.press("enter")
        await pilot.press("space")
        assert "1 marked" in str(screen.query_one("#lockins", DataTable).border_subtitle)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkAffinity), what="the confirmation")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "bulk-cancel", app.focused
        await pilot.press("enter")  # the focus is on Cancel: nothing happens
        await wait_for(pilot, lambda: isinstance(app.screen, LockInsScreen), what="back after cancel")
        assert ws.connection_row("tel:+250788111002").affinity_channel_id is not None
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkAffinity), what="the confirmation")
        await pilot.click("#bulk-go")
        await wait_for(pilot, lambda: isinstance(app.screen, LockInsScreen), what="done")
        await wait_for(pilot, lambda: listed(screen) == [], what="Bob's lock-in cleared")
    assert ws.connection_row("tel:+250788111002").affinity_channel_id is None
    assert ws.connection_row("tel:+250788111001").affinity_channel_id is not None
    probe = ws.store()
    with probe.scope.engine.connect() as c:
        from sqlalchemy import select

        from ccconsole.store.models import AuditEvent
        events = c.execute(select(AuditEvent.actor, AuditEvent.action)
                           .where(AuditEvent.action.like("affinity.%"))).all()
    probe.close()
    assert events == [("agent-7", "affinity.clear")]


async def test_move_everything_listed_to_another_channel_with_progress(request, tmp_path):
    url = demo_workspace(_url(request, tmp_path, "demo.db"))  # its own: the test changes it
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await table_ready(pilot)
        screen = await open_lockins(pilot)
        await pilot.press("3")  # stale: the affinities to the retired Old Android phone
        await wait_for(pilot, lambda: screen.kind == LockInKind.STALE and listed(screen)
                       and all(r[1] == "Old Android" for r in listed(screen)), what="the stale list")
        stale = len(listed(screen))
        assert stale > 1
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkAffinity), what="the move dialog")
        dialog = app.screen
        dialog.query_one("#scope-all").value = True
        dialog.query_one("#bulk-target", Select).value = app.workspace.channels.find("MTN Rwanda").id
        await pilot.pause()
        await pilot.click("#bulk-go")
        await wait_for(pilot, lambda: isinstance(app.screen, LockInsScreen), what="done", timeout=10)
        await wait_for(pilot, lambda: listed(screen) == [], what="no stale left")
    store = open_workspace(url)
    try:
        assert store.lockins.rows(kinds=[LockInKind.STALE]) == []
        moved = store.lockins.rows(channel_id=store.channels.find("MTN Rwanda").id, limit=10_000)
        assert sum(1 for r in moved if r.message_id is None) == stale
    finally:
        store.close()


async def test_history_from_the_contacts_screen_and_from_the_editor(ws):
    store = ws.store()
    store.messages.receive("Twitter", "twitter:alice", "hello from twitter")
    store.close()
    app = make_app(ws.url)
    async with app.run_test(size=SIZE) as pilot:
        await table_ready(pilot)
        await select_name(pilot, ALICE)
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen)
                       and app.screen.query_one("#messages", DataTable).row_count == 1, what="the history")
        screen = app.screen
        messages = cell_texts(screen.query_one("#messages", DataTable))
        assert messages == [[messages[0][0], "←", "Twitter", "@alice", "hello from twitter"]]
        changes = cell_texts(screen.query_one("#changes", DataTable))
        assert [r[2] for r in changes] == ["contact.inbound", "contact.create"]
        assert changes[0][3] == "priority: twitter:alice\ntwitter:alice: affinity Twitter"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HistoryScreen), what="back")
        await pilot.press("e")
        await wait_for(pilot, lambda: getattr(app.screen, "view", None) is not None, what="the editor")
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), what="history from the editor")


async def test_what_if_shows_the_new_order_and_route_and_saves_nothing(ws):
    app = make_app(ws.url)
    async with app.run_test(size=SIZE) as pilot:
        await table_ready(pilot)
        await select_name(pilot, BOB)
        assert "via Twitter" in await preview_for(pilot, BOB)
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, WhatIf) and app.screen.channels.all, what="what-if")
        dialog = app.screen
        dialog.query_one("#whatif-connection", Select).value = "tel:+250788111002"
        dialog.query_one("#whatif-channel", Select).value = app.workspace.channels.find("Airtel").id
        await pilot.pause()
        shown = static_text(dialog.query_one("#whatif-result", Static))
        assert "If a message came in on tel:+250788111002 through Airtel" in shown
        assert "Now: twitter:bob via Twitter" in shown
        assert "locked in" in shown and "via Airtel" in shown
        assert " 1 tel      0788 111 002  affinity Airtel" in shown
        # a channel that does not serve the connection is refused with the inbound rule's message
        dialog.query_one("#whatif-channel", Select).value = app.workspace.channels.find("Twitter").id
        await pilot.pause()
        assert "Channel Twitter does not serve tel connections." in static_text(dialog.query_one("#whatif-error"))
        # a new connection typed in national format
        dialog.query_one("#whatif-connection", Select).value = "__new__"
        dialog.query_one("#whatif-channel", Select).value = app.workspace.channels.find("MTN").id
        dialog.query_one("#whatif-new", Input).focus()
        await type_text(pilot, "0788000123")
        await pilot.pause()
        shown = static_text(dialog.query_one("#whatif-result", Static))
        assert "on tel:+250788000123 through MTN" in shown
        assert " 1 tel      0788 000 123  affinity MTN" in shown
        await pilot.press("escape")
    assert ws.identities(BOB) == ["twitter:bob", "tel:+250788111002", "telegram:222222"]
    assert ws.connection_row("tel:+250788000123") is None


# --- live refresh ------------------------------------------------------------------------------------


async def test_live_refresh_from_the_real_cli_within_a_second_keeps_cursor_and_typing(ws):
    app = make_app(ws.url)
    async with app.run_test(size=SIZE) as pilot:
        t = await table_ready(pilot)
        await select_name(pilot, BOB)
        await preview_for(pilot, BOB)
        cursor = t.cursor
        # another process: Bob texts in from his phone through MTN
        done = await asyncio.to_thread(cli, ws.url, "inbound", "--channel", "MTN", "--urn", "tel:+250788111002",
                                       "--text", "hi")
        committed = time.monotonic()
        assert done.returncode == 0, done.stderr
        await wait_for(pilot, lambda: "0788 111 002" in row_text(t, t.cursor) and "locked in" in preview_text(app),
                       timeout=1.0, what="the inbound message on screen")
        assert time.monotonic() - committed < 1.0
        assert t.cursor == cursor and t.current.name == BOB
        # typing in the filter survives a refresh
        await pilot.press("slash")
        await type_text(pilot, "Bo")
        done = await asyncio.to_thread(cli, ws.url, "inbound", "--channel", "Telegram", "--urn", "telegram:222222",
                                       "--text", "again")
        assert done.returncode == 0, done.stderr
        await wait_for(pilot, lambda: "222222" in row_text(t, t.cursor), timeout=1.0, what="the second message")
        box = app.screen.query_one("#filter", Input)
        assert box.value == "Bo" and box.has_focus


async def test_live_refresh_of_the_lock_ins_screen_from_the_real_cli(ws):
    app = make_app(ws.url)
    async with app.run_test(size=SIZE) as pilot:
        await table_ready(pilot)
        screen = await open_lockins(pilot)
        assert listed(screen) == []
        done = await asyncio.to_thread(cli, ws.url, "inbound", "--channel", "Airtel", "--urn", "tel:+250788111001",
                                       "--text", "hi")
        assert done.returncode == 0, done.stderr
        await wait_for(pilot, lambda: listed(screen) == [(ALICE, "Airtel", "locked in")], timeout=1.0,
                       what="the new lock-in")


async def test_read_only_hides_clear_and_move(ws):
    store = ws.store()
    store.messages.receive("Airtel", "tel:+250788111001", "hi")
    store.close()
    app = make_app(ws.url, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await table_ready(pilot)
        screen = await open_lockins(pilot)
        await pilot.press("c")
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, LockInsScreen)
        assert screen.check_action("clear", ()) is False and screen.check_action("move", ()) is False
    assert ws.connection_row("tel:+250788111001").affinity_channel_id is not None
