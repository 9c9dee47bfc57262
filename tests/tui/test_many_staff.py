"""Many staff on one database, through the console: refused saves with reload, the audit log, live
refresh between two consoles, and read-only mode. Each runs on SQLite and on PostgreSQL (``ws_any``).

"Two real sessions": the second staff member is a second Workspace (its own engine and connections) or a
second app on the same database, never the first app's objects.
"""

from __future__ import annotations

import re
import time

from textual.widgets import DataTable, Footer, Input, Static

from ccconsole.app import Workspace, open_workspace
from ccconsole.store import audit
from ccconsole.tui import actions
from ccconsole.tui.app import make_app
from ccconsole.tui.screens.audit import AuditScreen
from ccconsole.tui.screens.contacts import ContactsScreen
from ccconsole.tui.screens.editor import ContactEditor
from tests.tui.helpers import (
    ALICE,
    BOB,
    clear_focused_input,
    open_editor,
    select_name,
    settle,
    static_text,
    table_ready,
    type_text,
    wait_for,
)


def other_staff(url: str, actor: str = "bob") -> Workspace:
    return open_workspace(url, actor=actor)


async def refused_save(pilot, editor: ContactEditor) -> None:
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: not editor.saving, what="the save to finish")
    await settle(pilot)
    assert pilot.app.screen is editor


def conflict_text(editor: ContactEditor) -> str:
    box = editor.query_one("#conflict", Static)
    return static_text(box) if box.display else ""


def form(editor: ContactEditor) -> tuple[str, list[str], str]:
    values = [editor.query_one(f"#conn-{i}", Input).value for i in range(len(editor.items))]
    return editor.query_one("#name", Input).value, values, editor.query_one("#groups", Input).value


async def test_refused_save_shows_what_changed_and_reload_keeps_my_edits(ws_any):
    ws = ws_any
    alice = ws.ids[ALICE]
    app = make_app(ws.url, actor="me")
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        editor = await open_editor(pilot)
        await clear_focused_input(pilot)
        await type_text(pilot, "Alice Mine")
        # meanwhile another staff member promotes her Twitter handle and adds a group
        bob = other_staff(ws.url)
        try:
            bob.contacts.update(alice, urns=["twitter:alice", "tel:+250788111001", "telegram:111111"],
                               groups=["Nurses"])
        finally:
            bob.close()
        await refused_save(pilot, editor)
        text = conflict_text(editor)
        assert "changed by bob (update" in text and "version 1 → 2" in text
        assert re.search(r"changed by bob \(update, \d{4}-\d\d-\d\d \d\d:\d\d UTC\)", text), text  # zone labelled
        assert "Connections: tel:+250788111001, twitter:alice, telegram:111111 → twitter:alice, " \
               "tel:+250788111001, telegram:111111" in text
        assert "Groups: — → Nurses" in text
        assert "Name:" not in text  # they did not change the name
        assert ws.contact(ALICE).name == ALICE  # nothing of mine was saved
        assert form(editor) == ("Alice Mine", ["+250788111001", "alice", "111111"], "")  # the form is kept
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: editor.view.version == 2, what="the reload")
        await pilot.pause()
        # their promotion and group, my name
        assert form(editor) == ("Alice Mine", ["alice", "+250788111001", "111111"], "Nurses")
        assert "Reloaded version 2" in conflict_text(editor)
        assert "you both changed" not in conflict_text(editor)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen), what="the modal to close")
        await settle(pilot)
    now = ws.contact(ALICE)
    assert (now.name, [c.identity for c in now.connections], now.groups, now.version) == \
        ("Alice Mine", ["twitter:alice", "tel:+250788111001", "telegram:111111"], ("Nurses",), 3)
    store = ws.store()
    try:  # one event per save, under each login name; the refused save wrote none
        assert [(e.actor, e.action) for e in store.audit.page(contact_id=alice)] == [
            ("me", "contact.update"), ("bob", "contact.update"), ("tester", "contact.create")]
    finally:
        store.close()


async def test_both_changed_the_name_mine_is_kept_and_theirs_shown(ws_any):
    ws = ws_any
    app = make_app(ws.url, actor="me")
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        editor = await open_editor(pilot)
        await clear_focused_input(pilot)
        await type_text(pilot, "Alice Mine")
        editor.query_one("#conn-2", Input).focus()
        await pilot.press("alt+delete")  # I remove her Telegram id
        await wait_for(pilot, lambda: len(editor.items) == 2)
        # two other sessions at once: a rename, and an incoming message on her Twitter handle
        bob = other_staff(ws.url)
        try:
            bob.contacts.update(ws.ids[ALICE], name="Alice Theirs")
            bob.messages.receive("Twitter", "twitter:alice", "hello")
        finally:
            bob.close()
        await refused_save(pilot, editor)
        text = conflict_text(editor)
        assert "Name: Alice Phone → Alice Theirs" in text
        assert "bob (update" in text and "bob (inbound" in text and "version 1 → 3" in text
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: editor.view.version == 3, what="the reload")
        await pilot.pause()
        # my name and my removal, on top of the promotion the message made
        assert form(editor)[:2] == ("Alice Mine", ["alice", "+250788111001"])
        text = conflict_text(editor)
        assert "⚠ Name: you both changed it — yours is in the form, theirs was: Alice Theirs" in text
        assert "They saved “Alice Theirs”; yours is kept." in str(editor.query_one("#err-name").render())
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen), what="the modal to close")
        await settle(pilot)
    now = ws.contact(ALICE)
    assert (now.name, [c.identity for c in now.connections]) == ("Alice Mine", ["twitter:alice", "tel:+250788111001"])
    twitter_channel = next(c for c in other_staff(ws.url).channels.list() if c.name == "Twitter")
    assert now.connections[0].affinity_channel_id == twitter_channel.id  # the message's affinity survived


async def test_two_consoles_one_saves_the_other_refreshes_and_conflicts(ws_any):
    """Two apps on one database: a save in the first reaches the second's table; the second's open
    form is refused and reloads."""
    ws = ws_any
    first, second = make_app(ws.url, actor="ann"), make_app(ws.url, actor="ben")
    async with first.run_test(size=(120, 40)) as p1, second.run_test(size=(120, 40)) as p2:
        await table_ready(p1)
        t2 = await table_ready(p2)
        editor2 = await open_editor(p2)
        editor1 = await open_editor(p1)
        await clear_focused_input(p1)
        await type_text(p1, "Alice Ann")
        await p1.press("ctrl+s")
        await wait_for(p1, lambda: isinstance(first.screen, ContactsScreen), what="ann's save")
        await wait_for(p2, lambda: any(r.name == "Alice Ann" for r in t2.rows), timeout=5,
                       what="ben's table to show ann's change")
        await clear_focused_input(p2)
        await type_text(p2, "Alice Ben")
        await refused_save(p2, editor2)
        assert "changed by ann (update" in conflict_text(editor2)
        assert "Name: Alice Phone → Alice Ann" in conflict_text(editor2)
        assert editor1 is not None
    assert ws.contact(ALICE).name == "Alice Ann"


# --- the audit log ----------------------------------------------------------------------------------


def audit_rows(screen: AuditScreen) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.subject) for e in screen.entries]


async def test_audit_log_of_the_workspace_filters_and_of_one_contact(ws_any):
    ws = ws_any
    bob = other_staff(ws.url, actor="bob")
    try:
        bob.contacts.update(ws.ids[ALICE], name="Alice P")
        bob.messages.receive("MTN", "tel:+250788111002", "hi from bob's phone")
    finally:
        bob.close()
    app = make_app(ws.url, actor="me")
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen) and app.screen.total is not None,
                       what="the audit log")
        screen = app.screen
        # 5 channels + 6 contacts by "tester", then bob's two changes: newest first
        assert screen.total == 13
        assert audit_rows(screen)[:2] == [("bob", "contact.inbound", BOB), ("bob", "contact.update", "Alice P")]
        title = static_text(screen.query_one("#title-bar", Static))
        assert "Audit log of the workspace · 13 events" in title
        assert "Name: Alice Phone → Alice P" in static_text(screen.query_one("#audit-detail", Static)) or \
            screen.current.action == "contact.inbound"
        screen.query_one("#audit-actor", Input).focus()
        await type_text(pilot, "bob")
        await wait_for(pilot, lambda: screen.total == 2, what="the actor filter")
        screen.query_one("#audit-action", Input).focus()
        await type_text(pilot, "update")
        await wait_for(pilot, lambda: screen.total == 1, what="the action filter")
        assert audit_rows(screen) == [("bob", "contact.update", "Alice P")]
        await pilot.press("escape")  # back to the contacts
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen))
        await select_name(pilot, BOB)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen) and app.screen.total is not None,
                       what="Bob's history")
        screen = app.screen
        assert audit_rows(screen) == [("bob", "contact.inbound", BOB), ("tester", "contact.create", BOB)]
        detail = static_text(screen.query_one("#audit-detail", Static))
        assert "Connections: twitter:bob, tel:+250788111002, telegram:222222 → tel:+250788111002, twitter:bob" in detail
        screen.query_one("#audit-text", Input).focus()
        await type_text(pilot, "telegram:222222")
        await wait_for(pilot, lambda: screen.total == 2)
        await clear_focused_input(pilot)
        await type_text(pilot, "nothing like this")
        await wait_for(pilot, lambda: screen.total == 0)
        assert "No events match." in static_text(screen.query_one("#audit-detail", Static))


async def test_audit_log_pages_by_key_as_the_cursor_moves_down(ws):
    store = open_workspace(ws.url, actor="bulk")
    try:
        for i in range(120):
            store.contacts.update(ws.ids[ALICE], name=f"Alice {i:03d}")
    finally:
        store.close()
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen) and app.screen.total is not None)
        screen = app.screen
        assert screen.total == 131 and len(screen.entries) == audit.PAGE
        await pilot.press("G")
        await wait_for(pilot, lambda: len(screen.entries) == 2 * audit.PAGE)
        await pilot.press("G")
        await wait_for(pilot, lambda: len(screen.entries) == 131 and screen.exhausted)
        assert [e.id for e in screen.entries] == sorted((e.id for e in screen.entries), reverse=True)
        assert len({e.id for e in screen.entries}) == 131
        assert screen.query_one(DataTable).row_count == 131


async def test_editor_history_key_shows_the_contact_history(ws):
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        await open_editor(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen) and app.screen.total == 1)
        assert audit_rows(app.screen) == [("tester", "contact.create", ALICE)]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactEditor))


# --- live refresh ------------------------------------------------------------------------------------


async def test_another_sessions_change_reaches_the_table(ws_any):
    ws = ws_any
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        await wait_for(pilot, lambda: app._seen_seq is not None, what="the first change signal")
        other = other_staff(ws.url)
        try:
            other.contacts.create("Aaron New", ["tel:+250788555000"])
        finally:
            other.close()
        await wait_for(pilot, lambda: t.rows and t.rows[0].name == "Aaron New" and t.total == 7,
                       what="the new contact in the table")


async def test_on_postgres_the_change_arrives_by_notify_not_by_polling(ws_any, monkeypatch):
    """With the safety-net poll slowed to a minute, only LISTEN/NOTIFY can bring the change."""
    ws = ws_any
    if not ws.url.startswith("postgresql"):
        assert make_app(ws.url).workspace.backend == "sqlite"
        return  # SQLite has no NOTIFY: covered by the test above (polling)
    from ccconsole.tui.app import CCConsole

    monkeypatch.setattr(CCConsole, "PG_POLL_SECONDS", 60.0)
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        await wait_for(pilot, lambda: app._seen_seq is not None, what="the listener")
        other = other_staff(ws.url)
        try:
            start = time.monotonic()
            other.contacts.create("Aaron New", ["tel:+250788555000"])
        finally:
            other.close()
        await wait_for(pilot, lambda: t.rows and t.rows[0].name == "Aaron New", timeout=5)
        assert time.monotonic() - start < 5


# --- read-only ----------------------------------------------------------------------------------------


def bound_actions(app) -> set[str]:
    """The actions the footer offers on the current screen."""
    return {str(k.description) for k in app.screen.query_one(Footer).query("FooterKey")}


async def test_read_only_hides_every_mutation_everywhere(ws_any):
    ws = ws_any
    app = make_app(ws.url, read_only=True)
    mutating = [a for a in actions.ACTIONS if a.mutates]
    assert {a.id for a in mutating} >= {"contacts.edit", "editor.save", "channels.add", "channels.toggle"}
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        assert "[read-only]" in static_text(app.screen.query_one("#title-bar", Static))
        screens = {"contacts": app.screen}
        await pilot.press("C")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ChannelsScreen")
        screens["channels"] = app.screen
        await settle(pilot)
        for spec in mutating:
            if spec.scope in screens:
                screen = screens[spec.scope]
                assert screen.check_action(spec.action, ()) is False, spec.id
        assert not {"Add channel", "Disable/enable"} & bound_actions(app)
        palette = [c.title for c in app.get_system_commands(app.screen)]
        assert not any(spec.palette in palette for spec in mutating if spec.palette)
        await pilot.press("a")  # add channel: nothing opens
        await pilot.pause()
        assert type(app.screen).__name__ == "ChannelsScreen"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen))
        assert "Edit" not in bound_actions(app)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)
        # the audit log is read-only and stays available
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen) and app.screen.total == 1)
    assert ws.contact(ALICE).version == 1


async def test_read_only_editor_cannot_save(ws):
    app = make_app(ws.url, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        editor = ContactEditor(ws.ids[ALICE])
        app.push_screen(editor)  # even opened directly (no key does this in read-only mode)
        await wait_for(pilot, lambda: editor.view is not None)
        assert editor.check_action("save", ()) is False
        assert editor.query_one("#save").disabled
        await clear_focused_input(pilot)
        await type_text(pilot, "Nope")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not editor.saving
    assert ws.contact(ALICE).name == ALICE
