"""The quick start (issue 15): the console shows the first page read at start-up and opens the workspace in
the background; keys typed meanwhile wait for it and then act as if typed afterwards, in order.

Each test holds the background open at a gate it controls, so "before the workspace is open" is a state
the test is in for as long as it likes, not a race."""

from __future__ import annotations

import threading

from textual import events
from textual.widgets import Input

from ccconsole.app import open_workspace, start
from ccconsole.errors import StoreError
from ccconsole.tui.app import make_app
from tests.tui.helpers import demo_workspace, table, wait_for

SIZE = (100, 30)


def gated(app, fail: Exception | None = None) -> threading.Event:
    """Make ``app`` open its workspace only once the returned event is set (or fail then with ``fail``)."""
    gate = threading.Event()
    opening = app._opening
    assert opening is not None, "the app should open its workspace in the background"

    def held():
        assert gate.wait(20), "the test never opened the gate"
        if fail is not None:
            raise fail
        return opening()

    app._opening = held
    return gate


def keys(app, *names: str) -> None:
    """Keys as a terminal sends them, all at once (``pilot.press`` would wait for each to be handled)."""
    assert app._driver is not None
    for name in names:
        app._driver.send_message(events.Key(name, name if len(name) == 1 else None))


def demo(tmp_path) -> str:
    return demo_workspace(f"sqlite:///{tmp_path / 'demo.db'}")


async def test_the_first_page_shows_before_the_workspace_opens_and_keys_wait(tmp_path):
    url = demo(tmp_path)
    ws = open_workspace(url, read_only=True)
    try:
        expected = ws.browse.page(limit=start.PAGE)
    finally:
        ws.close()
    app = make_app(url, quick_start=True)
    gate = gated(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            t = table(app)
            await wait_for(pilot, lambda: len(t.rows) > 0, what="the first page")
            assert not app.workspace_ready
            assert t.rows == expected  # the page read at start-up is the open workspace's page
            screen_text = "\n".join(t.render_line(y).text for y in range(1, 6))
            assert (expected[0].name or "(no name)") in screen_text
            keys(app, "j", "j", "j", "slash", "a", "k", "i")
            await pilot.pause(0.3)
            assert t.cursor == 0 and not app.screen.query_one("#filter", Input).display  # held, not lost
            assert app.workspace_ready is False
            gate.set()
            await wait_for(pilot, lambda: app.workspace_ready, what="the workspace to open")
            box = app.screen.query_one("#filter", Input)
            await wait_for(pilot, lambda: box.value == "aki", what="the held keys to reach the filter")
            assert box.has_focus
            await wait_for(pilot, lambda: t.filter_text == "aki" and t.total is not None and t.rows,
                           what="the filtered table")
            assert all(r.name.lower().startswith("aki") for r in t.rows)
    finally:
        gate.set()


async def test_the_cursor_keys_held_while_opening_move_it_afterwards(tmp_path):
    url = demo(tmp_path)
    app = make_app(url, quick_start=True)
    gate = gated(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            t = table(app)
            await wait_for(pilot, lambda: len(t.rows) > 0, what="the first page")
            keys(app, "j", "j", "j", "k")
            await pilot.pause(0.2)
            assert t.cursor == 0
            gate.set()
            await wait_for(pilot, lambda: t.cursor == 2, what="the cursor to move as typed")
            await wait_for(pilot, lambda: t.total is not None, what="the count")
            assert t.total == 200
    finally:
        gate.set()


async def test_a_change_made_before_the_workspace_opens_shows(tmp_path):
    """A write between the start-up read and the open (another console): the table reloads."""
    url = demo(tmp_path)
    app = make_app(url, quick_start=True)
    gate = gated(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            t = table(app)
            await wait_for(pilot, lambda: len(t.rows) > 0, what="the first page")
            other = open_workspace(url, actor="someone else")
            try:
                created = other.contacts.create("", ["tel:+250788000777"])  # no name: sorts first
            finally:
                other.close()
            assert created.id not in {r.id for r in t.rows}
            gate.set()
            await wait_for(pilot, lambda: created.id in {r.id for r in t.rows}, what="the new contact")
    finally:
        gate.set()


async def test_quit_does_not_wait_for_the_workspace(tmp_path):
    url = demo(tmp_path)
    app = make_app(url, quick_start=True)
    gate = gated(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            t = table(app)
            await wait_for(pilot, lambda: len(t.rows) > 0, what="the first page")
            keys(app, "ctrl+q")
            await wait_for(pilot, lambda: app._exit_renderables is not None or not app.is_running,
                           what="the console to quit")
        assert not app.workspace_ready
    finally:
        gate.set()


async def test_a_workspace_that_fails_to_open_ends_the_console_with_its_message(tmp_path):
    url = demo(tmp_path)
    app = make_app(url, quick_start=True)
    gate = gated(app, fail=StoreError("The database is locked by another program."))
    async with app.run_test(size=SIZE) as pilot:
        t = table(app)
        await wait_for(pilot, lambda: len(t.rows) > 0, what="the first page")
        keys(app, "j", "e")  # held: never run against a workspace that is not there
        gate.set()
        await wait_for(pilot, lambda: not app.is_running, what="the console to end")
    assert app.return_code == 1
    assert str(app._open_error) == "The database is locked by another program."
    assert t.cursor == 0


async def test_without_a_readable_first_page_the_workspace_opens_first(tmp_path):
    url = demo(tmp_path) + "?timeout=5"  # options in the URL: the start-up read leaves it to the engine
    app = make_app(url, quick_start=True)
    assert app.workspace_ready and app.first_rows() is None
    async with app.run_test(size=SIZE) as pilot:
        t = table(app)
        await wait_for(pilot, lambda: t.loaded_once and t.total == 200, what="the table")


async def test_a_database_replaced_before_the_workspace_opens_shows_its_own_rows(tmp_path):
    """The file the first page came from is replaced (its change sequence went back): the table reloads."""
    url = demo(tmp_path)
    app = make_app(url, quick_start=True)
    gate = gated(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            t = table(app)
            await wait_for(pilot, lambda: len(t.rows) > 0, what="the first page")
            other = tmp_path / "other.db"
            ws = open_workspace(f"sqlite:///{other}", workspace_name="Kigali Health", country="RW")
            try:
                only = ws.contacts.create("Only One", ["tel:+250788000123"])
            finally:
                ws.close()
            (tmp_path / "demo.db").unlink()
            for suffix in ("-wal", "-shm"):
                (tmp_path / f"demo.db{suffix}").unlink(missing_ok=True)
            other.rename(tmp_path / "demo.db")
            gate.set()
            await wait_for(pilot, lambda: [r.id for r in t.rows] == [only.id], what="the other file's rows")
    finally:
        gate.set()
