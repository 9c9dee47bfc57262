"""Words (issue 15): no document references, counts in the right number, yes/no for flags, a contact
without a name named by its priority connection, a contact's audit log called so."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.widgets import DataTable, Static

from ccconsole.app.audit import AuditEntry
from ccconsole.core.changes import diff
from ccconsole.core.text import counted
from ccconsole.tui.app import make_app
from ccconsole.tui.screens.audit import AuditScreen
from ccconsole.tui.screens.channels import ChannelsScreen
from ccconsole.tui.screens.dialogs import HelpScreen
from ccconsole.tui.screens.lockins import LockInsScreen
from tests.tui.helpers import ALICE, plain, settle, static_text, table_ready, wait_for


def test_counts_and_flags_read_as_words():
    assert counted(1, "contact") == "1 contact"
    assert counted(0, "contact") == "0 contacts"
    assert counted(1200, "contact") == "1,200 contacts"
    assert [str(c) for c in diff({"active": False}, {"active": True})] == ["Active: no → yes"]


def entry(name, before, after) -> AuditEntry:
    return AuditEntry(1, datetime(2026, 1, 1, tzinfo=UTC), "ann", "contact.update", 687, name, None, None,
                      before, after)


def test_a_contact_without_a_name_is_named_by_its_priority_connection():
    after = {"name": "", "connections": [["tel:+250788111001", None], ["twitter:x", None]]}
    assert entry(None, None, after).subject == "(no name) tel:+250788111001"
    assert entry(None, after, None).subject == "(no name) tel:+250788111001"
    assert entry(None, None, None).subject == "(no name)"
    assert entry("Jane", None, after).subject == "Jane"
    assert "#687" not in entry(None, None, after).subject


async def test_screens_show_no_section_signs_and_the_audit_log_is_called_so(ws):
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        await settle(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen), what="the contact's audit log")
        await settle(pilot)
        title = static_text(app.screen.query_one("#title-bar", Static))
        # the small workspace keeps UTC
        assert title.startswith(f" Audit log of {ALICE}") and "times in UTC" in title, title
        await pilot.press("escape", "question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        assert "§" not in plain(app.screen.query_one("#help VerticalScroll Static", Static).content)
        await pilot.press("escape", "C")
        await wait_for(pilot, lambda: isinstance(app.screen, ChannelsScreen)
                       and app.screen.query_one(DataTable).row_count > 0, what="channels")
        await settle(pilot)
        assert "§" not in static_text(app.screen.query_one("#channel-note", Static))
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LockInsScreen), what="lock-ins")
        await settle(pilot)
        screen = app.screen
        assert "§" not in static_text(screen.query_one("#title-bar", Static))
        assert all("§" not in str(c.label) for c in screen.query_one("#lockins", DataTable).columns.values())
