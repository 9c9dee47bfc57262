"""Faults while the console runs: a PostgreSQL server stopped and started again, a locked SQLite file.

The server here is this module's own (tests/pg.py), so stopping it disturbs no other test. The user's
typing must survive: an open Update Contact keeps its inputs, a failed save says so and keeps the form.
"""

from __future__ import annotations

import os
import sqlite3

import pytest
from textual.widgets import Input, Static

from ccconsole import errors
from ccconsole.tui.app import make_app
from ccconsole.tui.screens.contacts import ContactsScreen
from ccconsole.tui.screens.editor import ContactEditor
from ccconsole.tui.widgets.form import ErrorLine
from tests import pg
from tests.tui.helpers import (
    ALICE,
    clear_focused_input,
    open_editor,
    settle,
    small_workspace,
    static_text,
    table_ready,
    type_text,
    wait_for,
)


@pytest.fixture(scope="module")
def own_pg():
    server = pg.start()
    if server is None:
        if os.environ.get("CCCONSOLE_REQUIRE_PG") == "1":
            pytest.fail("PostgreSQL server binaries are missing but CCCONSOLE_REQUIRE_PG=1")
        pytest.skip("PostgreSQL is not installed here (scripts/test.sh installs it)")
    try:
        yield server
    finally:
        server.close()


def title(app) -> str:
    screen = next(s for s in app.screen_stack if isinstance(s, ContactsScreen))
    return static_text(screen.query_one("#title-bar", Static))


def form_error(editor: ContactEditor) -> str:
    line = editor.query_one("#err-form", ErrorLine)
    return str(line.render()) if line.display else ""


async def test_postgres_stopped_and_restarted_while_editing(own_pg):
    ws = small_workspace(own_pg.create_database())
    app = make_app(ws.url, actor="me")
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        await wait_for(pilot, lambda: app._seen_seq is not None)
        editor = await open_editor(pilot)
        await clear_focused_input(pilot)
        await type_text(pilot, "Alice Kept")
        own_pg.stop()
        try:
            # the listener notices, says so in the title bar and a toast, and keeps retrying
            await wait_for(pilot, lambda: app.db_problem is not None, timeout=10, what="the outage to show")
            assert "Database unreachable" in app.db_problem and "reconnecting" in app.db_problem
            assert "⚠ Database unreachable" in title(app)
            # a save fails with a clear message and the form stays as typed
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: not editor.saving, timeout=15, what="the failed save")
            await pilot.pause()
            assert app.screen is editor
            assert "Cannot reach the database" in form_error(editor)
            assert "nothing was saved" in form_error(editor)
            assert editor.query_one("#name", Input).value == "Alice Kept"
        finally:
            own_pg.start(same_port=True)
        # back: the message clears by itself, and the same form saves
        await wait_for(pilot, lambda: app.db_problem is None, timeout=15, what="the reconnect")
        assert "⚠" not in title(app)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen), timeout=10, what="the save")
        await settle(pilot)
    assert ws.contact(ALICE).name == "Alice Kept"


async def test_postgres_restart_then_another_console_change_still_arrives(own_pg):
    """After a restart the listener is back on a new connection: NOTIFY works again."""
    from ccconsole.app import open_workspace

    ws = small_workspace(own_pg.create_database())
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        await wait_for(pilot, lambda: app._seen_seq is not None)
        own_pg.stop()
        try:
            await wait_for(pilot, lambda: app.db_problem is not None, timeout=10)
        finally:
            own_pg.start(same_port=True)
        await wait_for(pilot, lambda: app.db_problem is None, timeout=15)
        other = open_workspace(ws.url, actor="bob")
        try:
            other.contacts.create("Aaron After", ["tel:+250788555111"])
        finally:
            other.close()
        await wait_for(pilot, lambda: t.rows and t.rows[0].name == "Aaron After", timeout=5)


async def test_locked_sqlite_waits_then_says_so_and_keeps_the_form(tmp_path, monkeypatch):
    monkeypatch.setattr(errors, "SQLITE_BUSY_SECONDS", 0.3)
    ws = small_workspace(f"sqlite:///{tmp_path / 'locked.db'}")
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        editor = await open_editor(pilot)
        await clear_focused_input(pilot)
        await type_text(pilot, "Alice Later")
        other = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        try:
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: not editor.saving, timeout=10, what="the refused save")
            await pilot.pause()
            assert app.screen is editor
            assert "The database is locked by another program (waited 0.3 s); nothing was saved" in form_error(editor)
            assert editor.query_one("#name", Input).value == "Alice Later"
        finally:
            other.execute("ROLLBACK")
            other.close()
        await pilot.press("ctrl+s")  # the lock is gone: the same form saves
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen), timeout=10)
        await settle(pilot)
    assert ws.contact(ALICE).name == "Alice Later"


async def test_postgres_stopped_under_the_lockins_bulk_action_and_other_screens(own_pg):
    """Beyond the editor: a bulk action whose database drops reports it and leaves its dialog usable
    (not stuck), and the history, audit and channels screens say what happened instead of waiting."""
    from textual.widgets import Button

    from ccconsole.tui.screens.audit import AuditScreen
    from ccconsole.tui.screens.bulk import BulkAffinity
    from ccconsole.tui.screens.channels import ChannelsScreen
    from ccconsole.tui.screens.history import HistoryScreen
    from ccconsole.tui.screens.lockins import LockInsScreen
    from tests.tui.helpers import demo_workspace
    from tests.tui.test_lockins import listed, open_lockins

    url = demo_workspace(own_pg.create_database())
    app = make_app(url, actor="me")
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        screen = await open_lockins(pilot)
        await wait_for(pilot, lambda: listed(screen), what="the lock-ins list")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkAffinity), what="the clear dialog")
        dialog = app.screen
        dialog.query_one("#scope-all").value = True
        await pilot.pause()
        own_pg.stop()
        try:
            await pilot.click("#bulk-go")
            await wait_for(pilot, lambda: dialog.query_one("#bulk-error", ErrorLine).display and not dialog._busy,
                           timeout=30, what="the failed bulk action")
            assert "Cannot reach the database" in str(dialog.query_one("#bulk-error", ErrorLine).render())
            assert not dialog.query_one("#bulk-go", Button).disabled  # usable again: try later or go back
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, LockInsScreen), what="back to the lock-ins")
            shown = len(app._notifications)
            await pilot.press("h")  # the highlighted contact's history
            await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), what="the history screen")
            await wait_for(pilot, lambda: any("Cannot reach the database" in str(n.message)
                                              for n in list(app._notifications)[shown:]),
                           timeout=30, what="the history screen's error")
            await pilot.press("escape")
            for key, kind in (("A", AuditScreen), ("C", ChannelsScreen)):
                shown = len(app._notifications)
                await pilot.press(key)
                await wait_for(pilot, lambda kind=kind: isinstance(app.screen, kind), what=kind.__name__)
                await wait_for(pilot, lambda shown=shown: any("Cannot reach the database" in str(n.message)
                                                              for n in list(app._notifications)[shown:]),
                               timeout=30, what=f"the {kind.__name__} error")
        finally:
            own_pg.start(same_port=True)
        await wait_for(pilot, lambda: app.db_problem is None, timeout=30, what="the database to be back")
    with open_workspace_for_check(url) as ws:
        assert ws.lockins.rows(), "the failed clear changed nothing"


def open_workspace_for_check(url: str):
    from ccconsole.app import open_workspace

    return open_workspace(url, actor="check")
