"""Update Contact edits the whole contact (language, status, custom fields); ``n`` creates a contact,
``d`` deletes one after a question whose default is No; ``esc`` asks before losing edits.

Keys only (as over SSH), then the DATA: every outcome is read back through the app layer with a fresh
workspace, and writes are checked in the audit log with their actor.
"""

from __future__ import annotations

import pytest
from textual.widgets import Footer, Input, Label, Select, Static

from ccconsole.app import open_workspace
from ccconsole.core.importing import field_key
from ccconsole.errors import NotFound
from ccconsole.tui.app import make_app
from ccconsole.tui.screens.contacts import ContactsScreen
from ccconsole.tui.screens.dialogs import Confirm, HelpScreen
from ccconsole.tui.screens.editor import ContactEditor
from ccconsole.tui.widgets.form import ErrorLine
from tests.tui.helpers import (
    ALICE,
    BOB,
    CAROL,
    GRACE,
    clear_focused_input,
    open_editor,
    select_name,
    settle,
    static_text,
    table_ready,
    type_text,
    wait_for,
)

ACTOR = "nurse.kim"
FIELDS = {"Age": "34", "District": "Gasabo", "Preferred Clinic": "Kacyiru", "Shoe Size": "42"}


@pytest.fixture
def wsf(ws):
    """The small workspace with four custom fields (Alice has them all) and Grace stopped (opted out)."""
    store = ws.store()
    try:
        store.contacts.update(ws.ids[ALICE], fields=dict(FIELDS), language="eng")
        store.contacts.update(ws.ids[GRACE], status="stopped")
    finally:
        store.close()
    return ws


def audit_events(ws, contact_id: int, action: str) -> list:
    store = ws.store()
    try:
        return [e for e in store.audit.page(contact_id=contact_id, limit=50) if e.action == action]
    finally:
        store.close()


def field_index(editor: ContactEditor, name: str) -> int:
    return next(i for i, (_, n) in enumerate(editor.field_defs) if n == name)


def error_text(editor: ContactEditor, selector: str) -> str | None:
    line = editor.query_one(selector, ErrorLine)
    return str(line.render()) if line.display else None


async def pick_status(pilot, editor: ContactEditor, value: str) -> None:
    """Keys only: focus the status, open its list, move to ``value``, enter."""
    select = editor.query_one("#status", Select)
    select.focus()
    await pilot.press("enter")
    await pilot.pause()
    values = [v for _, v in select._options]
    moves = values.index(value) - values.index(select.value)
    await pilot.press(*(["down"] * moves if moves > 0 else ["up"] * -moves), "enter")
    await wait_for(pilot, lambda: select.value == value, what=f"status {value}")


async def saved(pilot) -> None:
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ContactsScreen), what="the modal to close")
    await settle(pilot)


# --- the whole contact -------------------------------------------------------------------------------


async def test_language_status_and_fields_save_in_one_update(wsf):
    before = wsf.contact(ALICE)
    app = make_app(wsf.url, actor=ACTOR)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        editor = await open_editor(pilot)
        assert editor.query_one("#language", Input).value == "eng"
        assert editor.query_one("#status", Select).value == "active"
        shown = {n: editor.query_one(f"#field-{i}", Input).value for i, (_, n) in enumerate(editor.field_defs)}
        assert shown == FIELDS
        editor.query_one("#language", Input).focus()
        await clear_focused_input(pilot)
        await type_text(pilot, "kin")
        await pick_status(pilot, editor, "blocked")
        # the route shown in the form follows the unsaved status
        await wait_for(pilot, lambda: "no longer active" in static_text(editor.query_one("#next-route", Static)))
        editor.query_one(f"#field-{field_index(editor, 'Age')}", Input).focus()
        await clear_focused_input(pilot)
        await type_text(pilot, "35")
        await saved(pilot)
        assert t.current.name == ALICE and t.current.status == "blocked"
    after = wsf.contact(ALICE)
    assert (after.language, after.status) == ("kin", "blocked")
    assert dict(after.fields) == {"age": "35", "district": "Gasabo", "preferred_clinic": "Kacyiru", "shoe_size": "42"}
    assert after.connections == before.connections and after.version == before.version + 1
    events = audit_events(wsf, wsf.ids[ALICE], "contact.update")
    assert events[0].actor == ACTOR
    assert len(events) == 2  # the fixture's and this one save: one transaction, one event


async def test_a_stopped_contact_can_be_reactivated(wsf):
    app = make_app(wsf.url, actor=ACTOR)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        await select_name(pilot, GRACE)
        editor = await open_editor(pilot)
        status = editor.query_one("#status", Select)
        assert status.value == "stopped"
        assert "no longer active" in static_text(editor.query_one("#next-route", Static))
        await pick_status(pilot, editor, "active")
        await wait_for(pilot, lambda: "via MTN" in static_text(editor.query_one("#next-route", Static)))
        await saved(pilot)
    assert wsf.contact(GRACE).status == "active"


async def test_clearing_a_field_removes_its_value_only(wsf):
    app = make_app(wsf.url, actor=ACTOR)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        editor = await open_editor(pilot)
        editor.query_one(f"#field-{field_index(editor, 'District')}", Input).focus()
        await clear_focused_input(pilot)
        await saved(pilot)
    after = wsf.contact(ALICE)
    assert dict(after.fields) == {"age": "34", "preferred_clinic": "Kacyiru", "shoe_size": "42"}
    assert after.language == "eng"


async def test_invalid_language_is_refused_shown_focused_and_the_edits_kept_at_80x24(wsf):
    store = wsf.store()
    try:  # six connections: at 80x24 the language is below the fold
        store.contacts.update(wsf.ids[ALICE], urns=wsf.identities(ALICE) + [
            "mailto:alice@example.org", "ext:A-1", "tel:+250788111777"])
    finally:
        store.close()
    before = wsf.contact(ALICE)
    app = make_app(wsf.url, actor=ACTOR)
    async with app.run_test(size=(80, 24)) as pilot:
        await table_ready(pilot)
        editor = await open_editor(pilot)
        await clear_focused_input(pilot)
        await type_text(pilot, "Alice Renamed")
        editor.query_one("#language", Input).focus()
        await clear_focused_input(pilot)
        await type_text(pilot, "english")
        editor.query_one(f"#field-{field_index(editor, 'Shoe Size')}", Input).focus()
        await clear_focused_input(pilot)
        await type_text(pilot, "43")
        editor.query_one("#name", Input).focus()  # back at the top: the bad field is out of view
        body = editor.query_one("#editor-body")
        await wait_for(pilot, lambda: body.scroll_y == 0)
        await pilot.pause()
        language = editor.query_one("#language", Input)
        assert not body.region.contains_region(language.region)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not editor.saving and error_text(editor, "#err-language") is not None,
                       what="the refused save")
        await settle(pilot)
        assert app.screen is editor
        assert error_text(editor, "#err-language") == "⚠ Language is an ISO-639-3 code, e.g. eng."
        # the first bad field has the focus and is in view with its message
        assert app.focused is language
        line = editor.query_one("#err-language", ErrorLine)
        await wait_for(pilot, lambda: body.region.contains_region(language.region)
                       and body.region.contains_region(line.region), what="the bad field in view")
        # the summary sits above the buttons, not over them
        summary = editor.query_one("#err-form", ErrorLine)
        buttons = editor.query_one("#editor-buttons")
        assert "Not saved" in (error_text(editor, "#err-form") or "")
        assert summary.region.bottom <= buttons.region.y
        assert not summary.region.overlaps(buttons.region)
        for button in [b for b in buttons.children if b.display]:  # nothing drawn over them
            assert app.screen.get_widget_at(*button.region.offset)[0] is button
        # every edit kept
        assert editor.query_one("#name", Input).value == "Alice Renamed"
        assert language.value == "english"
        assert editor.query_one(f"#field-{field_index(editor, 'Shoe Size')}", Input).value == "43"
        assert wsf.contact(ALICE).version == before.version  # nothing written
        # fixed, the same form saves everything
        await clear_focused_input(pilot)
        await type_text(pilot, "eng")
        await saved(pilot)
    after = wsf.contact(ALICE)
    assert (after.name, after.language, dict(after.fields)["shoe_size"]) == ("Alice Renamed", "eng", "43")


# --- n: a new contact --------------------------------------------------------------------------------


async def test_n_creates_a_contact_which_the_table_then_shows_and_selects(wsf):
    app = make_app(wsf.url, actor=ACTOR)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        total = t.total
        editor = await open_editor_new(pilot)
        assert "New contact" in str(editor.query_one("#editor-title", Label).render())
        assert editor.query_one("#name", Input).value == "" and editor.items == []
        await type_text(pilot, "Bella New")
        editor.query_one("#add-value", Input).focus()
        await type_text(pilot, "0788 123 456")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(editor.items) == 1)
        editor.query_one("#language", Input).focus()
        await type_text(pilot, "kin")
        editor.query_one(f"#field-{field_index(editor, 'District')}", Input).focus()
        await type_text(pilot, "Nyarugenge")
        await saved(pilot)
        await wait_for(pilot, lambda: t.current is not None and t.current.name == "Bella New" and t.total == total + 1,
                       what="the new contact selected")
        assert t.current.priority_identity == "tel:+250788123456"
        new_id = t.current.id
    store = open_workspace(wsf.url)
    try:
        created = store.contacts.get("tel:+250788123456")
        assert created.id == new_id
        assert (created.name, created.language, created.status) == ("Bella New", "kin", "active")
        assert dict(created.fields) == {"district": "Nyarugenge"}
        events = [e for e in store.audit.page(contact_id=new_id) if e.action == "contact.create"]
        assert [e.actor for e in events] == [ACTOR]
    finally:
        store.close()


async def open_editor_new(pilot) -> ContactEditor:
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ContactEditor) and pilot.app.screen.loaded,
                   what="the New contact modal")
    await pilot.pause()
    return pilot.app.screen


async def test_a_refused_new_contact_keeps_the_form_and_writes_nothing(wsf):
    app = make_app(wsf.url, actor=ACTOR)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        total = t.total
        editor = await open_editor_new(pilot)
        await type_text(pilot, "Nobody")
        editor.query_one("#language", Input).focus()
        await type_text(pilot, "xx")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not editor.saving and error_text(editor, "#err-language") is not None)
        assert app.screen is editor and app.focused is editor.query_one("#language", Input)
        assert editor.query_one("#name", Input).value == "Nobody"
    store = open_workspace(wsf.url)
    try:
        assert store.browse.count() == total
    finally:
        store.close()


# --- d: delete, asking first -------------------------------------------------------------------------


async def test_d_then_enter_answers_no_and_deletes_nothing(wsf):
    app = make_app(wsf.url, actor=ACTOR)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        await select_name(pilot, BOB)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), what="the question")
        assert BOB in static_text(app.screen.query_one("#confirm-text", Label))
        await pilot.press("enter")  # right away: No has the focus
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen))
        await settle(pilot)
        assert t.current.name == BOB
    assert wsf.contact(BOB).name == BOB
    assert audit_events(wsf, wsf.ids[BOB], "contact.delete") == []


async def test_d_then_y_deletes_the_contact_and_the_cursor_stays_near(wsf):
    identities = wsf.identities(BOB)
    app = make_app(wsf.url, actor=ACTOR)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        total = t.total
        await select_name(pilot, BOB)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), what="the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: all(r.name != BOB for r in t.rows) and t.total == total - 1,
                       what="the table without Bob")
        await settle(pilot)
        assert t.current.name == CAROL  # the next one takes its place
    with pytest.raises(NotFound):
        wsf.contact(BOB)
    assert all(wsf.connection_row(i).contact_id is None for i in identities)  # detached, free again
    events = audit_events(wsf, wsf.ids[BOB], "contact.delete")
    assert [e.actor for e in events] == [ACTOR]
    assert events[0].before["name"] == BOB


# --- esc asks before losing edits ----------------------------------------------------------------------


async def test_esc_without_edits_closes_at_once(wsf):
    app = make_app(wsf.url, actor=ACTOR)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        editor = await open_editor(pilot)
        await pilot.press("end")
        await type_text(pilot, "x")
        await pilot.press("backspace")  # typed and taken back: nothing to lose
        assert not editor.edited
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen))


async def test_esc_with_edits_asks_and_keeps_editing_by_default(wsf):
    before = wsf.contact(ALICE)
    app = make_app(wsf.url, actor=ACTOR)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        editor = await open_editor(pilot)
        editor.query_one(f"#field-{field_index(editor, 'Age')}", Input).focus()
        await pilot.press("end")
        await type_text(pilot, "0")
        assert editor.edited
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), what="the question")
        assert static_text(app.screen.query_one("#confirm-text", Label)) == "Discard your changes?"
        await pilot.press("enter")  # the default: keep editing
        await wait_for(pilot, lambda: app.screen is editor)
        assert editor.query_one(f"#field-{field_index(editor, 'Age')}", Input).value == "340"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("escape")  # esc on the question keeps editing too
        await wait_for(pilot, lambda: app.screen is editor)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen))
    after = wsf.contact(ALICE)
    assert (dict(after.fields), after.version) == (dict(before.fields), before.version)


# --- read-only ---------------------------------------------------------------------------------------


async def test_read_only_refuses_new_delete_and_save_with_a_message(wsf):
    before = wsf.contact(ALICE)
    app = make_app(wsf.url, actor=ACTOR, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        total = t.total
        footer = app.screen.query_one(Footer)
        await wait_for(pilot, lambda: any(k.description == "Filter" for k in footer.query("FooterKey")))
        assert not any(k.description in ("New", "Delete") for k in footer.query("FooterKey"))
        for key, what in (("n", "new"), ("d", "delete")):
            shown = len(app._notifications)
            await pilot.press(key)
            await pilot.pause(0.1)
            assert isinstance(app.screen, ContactsScreen)
            messages = [str(n.message) for n in list(app._notifications)[shown:]]
            assert messages == [f"Read-only: {what} is not available; nothing was written."]
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "New contact" not in titles and not any(title.startswith("Delete") for title in titles)
        app.push_screen(ContactEditor(t.current.id))
        await wait_for(pilot, lambda: isinstance(app.screen, ContactEditor) and app.screen.loaded)
        editor = app.screen
        editor.query_one("#language", Input).focus()
        await type_text(pilot, "x")
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        await settle(pilot)
        assert app.screen is editor
        assert error_text(editor, "#err-form") == "⚠ Read-only: this console cannot save; nothing was written."
        await pilot.press("escape")  # nothing could be saved: nothing to lose, no question
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen))
    store = open_workspace(wsf.url)
    try:
        assert store.browse.count() == total
    finally:
        store.close()
    after = wsf.contact(ALICE)
    assert (after.language, after.version) == (before.language, before.version)


# --- the keys are listed ------------------------------------------------------------------------------


async def test_new_and_delete_in_footer_help_and_palette(wsf):
    app = make_app(wsf.url, actor=ACTOR)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        footer = app.screen.query_one(Footer)
        await wait_for(pilot, lambda: any(k.description == "Filter" for k in footer.query("FooterKey")))
        keys = {k.description: k.key for k in footer.query("FooterKey")}
        assert keys.get("New") == "n" and keys.get("Delete") == "d"
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "New contact" in titles and any(t.startswith("Delete the highlighted contact") for t in titles)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = "\n".join(static_text(s) for s in app.screen.query(Static))
        assert "New" in text and "Delete" in text and "Cancel" in text


# --- someone else saved meanwhile: reload keeps my language, status and field edits -------------------


async def test_reload_after_a_refused_save_merges_language_status_and_fields(wsf):
    app = make_app(wsf.url, actor=ACTOR)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        editor = await open_editor(pilot)
        age = editor.query_one(f"#field-{field_index(editor, 'Age')}", Input)
        age.focus()
        await clear_focused_input(pilot)
        await type_text(pilot, "36")
        editor.query_one("#language", Input).focus()
        await clear_focused_input(pilot)
        await type_text(pilot, "fra")
        other = open_workspace(wsf.url, actor="bob")
        try:  # another staff member: another field, the status, and the language too
            other.contacts.update(wsf.ids[ALICE], fields={"District": "Kicukiro"}, status="archived", language="kin")
        finally:
            other.close()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not editor.saving and editor.conflict is not None, what="the refused save")
        assert "someone else changed" in (error_text(editor, "#err-form") or "")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: editor.conflict is None and editor.view.status == "archived", what="the reload")
        await pilot.pause()
        assert age.value == "36"  # mine
        assert editor.query_one(f"#field-{field_index(editor, 'District')}", Input).value == "Kicukiro"  # theirs
        assert editor.query_one("#status", Select).value == "archived"  # theirs: I left it alone
        assert editor.query_one("#language", Input).value == "fra"  # both changed it: mine, theirs shown
        assert "Language: you both changed it — yours is in the form, theirs was: kin" in \
            static_text(editor.query_one("#conflict", Static))
        await saved(pilot)
    after = wsf.contact(ALICE)
    assert (after.language, after.status) == ("fra", "archived")
    assert dict(after.fields)["age"] == "36" and dict(after.fields)["district"] == "Kicukiro"


async def test_a_hostile_field_name_and_value_are_shown_literally(ws):
    name, value = "[b]Note[/b] \x1b]0;owned\x07", "[@click=app.quit]x[/]"
    store = ws.store()
    try:
        store.contacts.update(ws.ids[ALICE], fields={name: value})
    finally:
        store.close()
    app = make_app(ws.url, actor=ACTOR)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        editor = await open_editor(pilot)
        label = editor.query_one(".fv-label", Label)
        assert str(label.render()) == "[b]Note[/b] ␛]0;owned␇"
        assert editor.query_one("#field-0", Input).value == value
        await pilot.press("escape")  # nothing edited: closes at once, nothing written
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen))
    assert dict(ws.contact(ALICE).fields) == {field_key(name): value}
