"""The console's flows through Pilot, the way staff use it: keys (and a few clicks), then the DATA.

Every save is checked by reading the database again with a fresh store, not only what the screen says.
"""

from __future__ import annotations

from textual.widgets import Button, Footer, Input, Select, Static

from ccconsole.tui.app import make_app
from ccconsole.tui.screens.contacts import ContactsScreen
from ccconsole.tui.screens.dialogs import Confirm, HelpScreen
from ccconsole.tui.screens.editor import ContactEditor
from ccconsole.tui.widgets.form import ErrorLine
from tests.tui.helpers import (
    ALICE,
    BOB,
    CAROL,
    DORA,
    GRACE,
    LEGACY,
    OLGA,
    clear_focused_input,
    open_editor,
    preview_for,
    preview_text,
    preview_title,
    row_text,
    select_name,
    settle,
    static_text,
    table_ready,
    type_text,
    wait_for,
)

INVALID_NEW_PHONE = "Invalid phone number. Ensure number includes country code."


def error_text(editor: ContactEditor, selector: str) -> str | None:
    """The text of a visible error line, or None when it is hidden."""
    line = editor.query_one(selector, ErrorLine)
    return str(line.render()) if line.display else None


async def saved(pilot) -> None:
    """ctrl+s, then wait for the modal to close and the table/preview to reload."""
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ContactsScreen), what="the modal to close")
    await settle(pilot)


async def not_saved(pilot, editor: ContactEditor) -> None:
    """ctrl+s, then wait for the save worker to report back (the modal stays open)."""
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: not editor.saving, what="the save to finish")
    await settle(pilot)
    assert pilot.app.screen is editor, "the modal closed although the save must fail"


# --- the contacts screen ----------------------------------------------------------------------------


async def test_table_shows_the_workspace_and_the_preview_follows_the_cursor(ws):
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        assert [r.name for r in t.rows] == [ALICE, BOB, CAROL, DORA, GRACE, OLGA]
        assert t.total == 6
        assert t.current.name == ALICE
        footer = app.screen.query_one(Footer)
        await wait_for(pilot, lambda: "Edit" in [str(k.description) for k in footer.query("FooterKey")],
                       what="Edit in the footer")
        text = await preview_for(pilot, ALICE)
        assert "→ 0788 111 001 via MTN" in text
        await pilot.press("j")
        assert t.current.name == BOB
        text = await preview_for(pilot, BOB)
        assert "→ @bob via Twitter" in text
        assert "@contact.urn  twitter:bob" in text
        await pilot.press("j")
        text = await preview_for(pilot, CAROL)
        assert "→ 333333 via Telegram" in text
        await pilot.press("k", "k")
        text = await preview_for(pilot, ALICE)
        assert "→ 0788 111 001 via MTN" in text
        await pilot.press("G")
        await wait_for(pilot, lambda: t.current.name == OLGA)
        await preview_for(pilot, OLGA)


async def test_filter_by_name_and_clear(ws):
    app = make_app(ws.url)
    async with app.run_test(size=(80, 24)) as pilot:
        t = await table_ready(pilot)
        await pilot.press("slash")
        box = app.screen.query_one("#filter", Input)
        assert box.display and box.has_focus
        await type_text(pilot, "carol")
        await pilot.press("enter")
        await table_ready(pilot, "carol")
        assert [r.name for r in t.rows] == [CAROL]
        assert t.total == 1
        assert "/name ^ carol" in t.border_title  # the canonical form of the query
        title = static_text(app.screen.query_one("#title-bar", Static))
        assert "1 contact" in title and "1 contacts" not in title
        await preview_for(pilot, CAROL)
        await pilot.press("escape")
        await table_ready(pilot, None)
        assert [r.name for r in t.rows] == [ALICE, BOB, CAROL, DORA, GRACE, OLGA]
        assert t.total == 6
        assert not app.screen.query_one("#filter", Input).display


async def test_enter_in_the_filter_hands_the_keys_back_to_the_table(ws):
    """After enter the filter keeps its text and the table has the focus: j moves, e edits."""
    app = make_app(ws.url)
    async with app.run_test(size=(80, 24)) as pilot:
        t = await table_ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "name ~ ol")  # Carol, Olga
        await pilot.press("enter")
        await table_ready(pilot, "name ~ ol")
        assert [r.name for r in t.rows] == [CAROL, OLGA]
        await pilot.pause(0.2)
        assert app.focused is t, f"the focus stayed on {app.focused!r}"
        await pilot.press("j")
        assert app.screen.query_one("#filter", Input).value == "name ~ ol"
        assert t.current.name == OLGA


async def test_escape_in_the_filter_hands_the_keys_back_to_the_table(ws):
    app = make_app(ws.url)
    async with app.run_test(size=(80, 24)) as pilot:
        t = await table_ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "carol")
        await table_ready(pilot, "carol")
        await pilot.press("escape")
        await table_ready(pilot, None)
        await pilot.pause(0.2)
        assert app.focused is t, f"the focus is on {app.focused!r}"


async def test_filter_by_a_connection_fragment(ws):
    app = make_app(ws.url)
    async with app.run_test(size=(80, 24)) as pilot:
        t = await table_ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "urn ~ @exam")  # part of Dora's email address
        await table_ready(pilot, "urn ~ @exam")
        assert [r.name for r in t.rows] == [DORA]
        await pilot.press("escape")
        await table_ready(pilot, None)
        await pilot.press("slash")
        await type_text(pilot, "no such contact")
        await table_ready(pilot, "no such contact")
        assert t.rows == [] and t.total == 0
        assert "No contact matches this filter." in t.render_line(1).text
        assert preview_title(app) == "Route"


async def test_filter_text_with_markup_characters_is_shown_literally(ws):
    """Typing ``[/`` into the filter (as you type) must not crash the console."""
    app = make_app(ws.url)
    async with app.run_test(size=(80, 24)) as pilot:
        t = await table_ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "[/")
        await table_ready(pilot, "[/")
        assert app.is_running
        assert t.border_title.endswith('/name ^ "[/"') or '/name ^ "\\[/"' in t.border_title


# --- Update Contact ---------------------------------------------------------------------------------


async def test_promote_with_the_button_and_save_changes_table_and_preview(ws):
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        await select_name(pilot, BOB)
        assert t.current.priority_identity == "twitter:bob"
        assert t.current.route.channel.name == "Twitter"
        editor = await open_editor(pilot)
        assert [editor.query_one(f"#conn-{i}", Input).value for i in range(3)] == ["bob", "+250788111002", "222222"]
        await pilot.click("#up-1")
        await wait_for(pilot, lambda: editor.query_one("#conn-0", Input).value == "+250788111002")
        assert "tel:+250788111002 via MTN" in static_text(editor.query_one("#next-route", Static))
        await saved(pilot)
        assert ws.identities(BOB) == ["tel:+250788111002", "twitter:bob", "telegram:222222"]
        await wait_for(pilot, lambda: t.current.priority_identity == "tel:+250788111002")
        assert t.current.name == BOB
        assert t.current.route.channel.name == "MTN"
        assert "0788 111 002" in row_text(t, t.cursor) and "MTN" in row_text(t, t.cursor)
        await preview_for(pilot, BOB)
        await wait_for(pilot, lambda: "→ 0788 111 002 via MTN" in preview_text(app))
        assert "1 tel      0788 111 002" in preview_text(app)


async def test_s1_promoting_the_telegram_id_moves_a_to_telegram(ws):
    """S1: A (phone first), B (Twitter first), C (Telegram first) go to three channels; promoting A's
    Telegram id to the top in Update Contact moves A to the Telegram channel."""
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        via = {r.name: r.route.channel.name for r in t.rows[:3]}
        assert via == {ALICE: "MTN", BOB: "Twitter", CAROL: "Telegram"}
        assert t.current.name == ALICE
        editor = await open_editor(pilot)
        await pilot.press("tab")  # name → first connection
        assert app.focused is editor.query_one("#conn-0", Input)
        editor.query_one("#conn-2", Input).focus()
        await pilot.pause()
        await pilot.press("alt+up")
        await wait_for(pilot, lambda: app.focused is editor.query_one("#conn-1", Input))
        await pilot.press("alt+up")
        await wait_for(pilot, lambda: editor.query_one("#conn-0", Input).value == "111111")
        assert "telegram:111111 via Telegram" in static_text(editor.query_one("#next-route", Static))
        await saved(pilot)
        assert ws.identities(ALICE) == ["telegram:111111", "tel:+250788111001", "twitter:alice"]
        await wait_for(pilot, lambda: t.current.priority_identity == "telegram:111111")
        assert t.current.route.channel.name == "Telegram"
        await wait_for(pilot, lambda: "→ 111111 via Telegram" in preview_text(app))
        assert {r.name: r.route.channel.name for r in t.rows[:3]} == {
            ALICE: "Telegram", BOB: "Twitter", CAROL: "Telegram"}


async def test_add_a_national_format_number_is_stored_as_e164(ws):
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        await select_name(pilot, DORA)
        editor = await open_editor(pilot)
        assert editor.query_one("#add-scheme", Select).value == "tel"
        editor.query_one("#add-value", Input).focus()
        await pilot.pause()
        await type_text(pilot, "0788 123 456")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(editor.items) == 3)
        assert editor.query_one("#conn-2", Input).value == "+250788123456"
        assert editor.query_one("#add-value", Input).value == ""
        assert error_text(editor, "#err-add") is None
        await saved(pilot)
        assert ws.identities(DORA) == ["mailto:dora@example.org", "tel:+250730111004", "tel:+250788123456"]


async def test_add_a_number_without_country_code_in_a_workspace_without_country(tmp_path):
    """The form's rule for a *new* number: it must be E.164 once normalized (here no country helps)."""
    from ccconsole.app import open_workspace

    url = f"sqlite:///{tmp_path / 'nocountry.db'}"
    store = open_workspace(url, workspace_name="Nowhere")
    cid = store.contacts.create("Nadia", ["mailto:nadia@example.org"]).id
    store.close()
    app = make_app(url)
    async with app.run_test(size=(100, 30)) as pilot:
        await table_ready(pilot)
        editor = await open_editor(pilot)
        editor.query_one("#add-value", Input).focus()
        await type_text(pilot, "0788123456")
        await pilot.press("enter")
        await wait_for(pilot, lambda: error_text(editor, "#err-add") is not None)
        assert INVALID_NEW_PHONE in error_text(editor, "#err-add")
        assert len(editor.items) == 1
    store = open_workspace(url)
    assert [c.identity for c in store.contacts.get(cid).connections] == ["mailto:nadia@example.org"]
    store.close()


async def test_invalid_email_shows_a_message_and_saves_nothing(ws):
    before = ws.contact(DORA)
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        await select_name(pilot, DORA)
        editor = await open_editor(pilot)
        # adding one: refused on the spot, with the message under the add row
        scheme = editor.query_one("#add-scheme", Select)
        scheme.focus()
        await pilot.press("enter")  # open the list of types
        await pilot.press("down", "enter")  # Email Address
        await wait_for(pilot, lambda: scheme.value == "mailto")
        await pilot.press("tab")
        assert app.focused is editor.query_one("#add-value", Input)
        await type_text(pilot, "jane@")
        await pilot.press("enter")
        await wait_for(pilot, lambda: error_text(editor, "#err-add") is not None)
        assert "Invalid email address." in error_text(editor, "#err-add")
        assert len(editor.items) == 2
        # editing one in place: a live message, and the save is refused by the store
        editor.query_one("#conn-0", Input).focus()
        await clear_focused_input(pilot)
        await type_text(pilot, "dora@")
        await wait_for(pilot, lambda: error_text(editor, "#err-conn-0") is not None)
        assert "Invalid email address." in error_text(editor, "#err-conn-0")
        await not_saved(pilot, editor)
        assert "Invalid email address." in (error_text(editor, "#err-conn-0") or "")
        # escape asks first (the form has edits); discarding leaves the contact as it was
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), what="the discard question")
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen))
    after = ws.contact(DORA)
    assert after.connections == before.connections
    assert after.version == before.version


async def test_a_connection_owned_by_another_contact_names_the_owner_and_saves_nothing(ws):
    before = ws.contact(ALICE)
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        editor = await open_editor(pilot)
        editor.query_one("#add-value", Input).focus()
        await type_text(pilot, "0788 999 000")  # Olga's number, typed in national format
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(editor.items) == 4)
        await not_saved(pilot, editor)
        message = error_text(editor, "#err-conn-3")
        assert message is not None and OLGA in message, message
        assert "In use by another contact" in message
        # above the buttons, only the summary (the message itself is under the connection)
        assert error_text(editor, "#err-form") == "⚠ Not saved: fix the field marked ⚠."
    assert ws.contact(ALICE).connections == before.connections
    assert ws.contact(ALICE).version == before.version
    assert ws.identities(OLGA) == ["tel:+250788999000"]


async def test_cancel_discards_every_change(ws):
    before = ws.contact(ALICE)
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        editor = await open_editor(pilot)
        await clear_focused_input(pilot)  # the name has the focus
        await type_text(pilot, "Someone Else")
        editor.query_one("#conn-1", Input).focus()
        await pilot.press("alt+up")
        await wait_for(pilot, lambda: editor.query_one("#conn-0", Input).value == "alice")
        editor.query_one("#conn-2", Input).focus()
        await pilot.press("alt+delete")
        await wait_for(pilot, lambda: len(editor.items) == 2)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), what="the discard question")
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen))
        await settle(pilot)
        assert t.current.name == ALICE
        assert t.current.priority_identity == "tel:+250788111001"
    after = ws.contact(ALICE)
    assert (after.name, after.connections, after.version) == (before.name, before.connections, before.version)


async def test_cancel_button(ws):
    before = ws.contact(ALICE)
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        editor = await open_editor(pilot)
        await pilot.click("#up-1")
        await wait_for(pilot, lambda: editor.query_one("#conn-0", Input).value == "alice")
        await pilot.click("#cancel")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), what="the discard question")
        await pilot.click("#yes")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen))
    assert ws.contact(ALICE).connections == before.connections


async def test_remove_detaches_the_connection_without_deleting_it(ws):
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        await select_name(pilot, CAROL)
        editor = await open_editor(pilot)
        editor.query_one("#conn-2", Input).focus()  # twitter:carol
        await pilot.pause()
        await pilot.press("alt+delete")
        await wait_for(pilot, lambda: [i.value for i in editor.items] == ["333333", "+250730111003"])
        await saved(pilot)
        assert t.current.name == CAROL
    assert ws.identities(CAROL) == ["telegram:333333", "tel:+250730111003"]
    row = ws.connection_row("twitter:carol")
    assert row is not None, "the removed connection was deleted; it must be kept, detached"
    assert row.contact_id is None
    store = ws.store()
    try:
        assert store.contacts.owners(["twitter:carol"]) == {"twitter:carol": (None, "")}
        # detached: it can be given to another contact (S6)
        store.contacts.update(ws.ids[DORA], urns=[*ws.identities(DORA), "twitter:carol"])
    finally:
        store.close()
    assert ws.identities(DORA)[-1] == "twitter:carol"


async def test_remove_with_the_button(ws):
    app = make_app(ws.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        editor = await open_editor(pilot)
        await pilot.click("#rm-0")
        await wait_for(pilot, lambda: len(editor.items) == 2)
        assert editor.query_one("#conn-0", Input).value == "alice"
        assert "@alice" in static_text(editor.query_one("#next-route", Static)) or \
            "twitter:alice via Twitter" in static_text(editor.query_one("#next-route", Static))
        await saved(pilot)
    assert ws.identities(ALICE) == ["twitter:alice", "telegram:111111"]
    assert ws.connection_row("tel:+250788111001").contact_id is None


async def test_s7_cleanup_over_ssh_with_keys_only(ws):
    """S7 at 80x24, keys only: find Grace by a national-format fragment, fix the number that lacks its
    country code, promote it, save and check the route."""
    app = make_app(ws.url)
    async with app.run_test(size=(80, 24)) as pilot:
        t = await table_ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "0788 38")
        await pilot.press("enter")
        await table_ready(pilot, "0788 38")
        assert [r.name for r in t.rows] == [GRACE]
        text = await preview_for(pilot, GRACE)
        assert "0730555666" in text  # the legacy number, second
        await pilot.pause(0.2)
        assert app.focused is t, f"after enter the keys still go to {app.focused!r}, so e would be typed there"
        editor = await open_editor(pilot)
        assert editor.query_one("#conn-1", Input).value == "0730555666"
        await pilot.press("tab", "tab", "tab")  # name → conn-0 → remove 0 → conn-1
        assert app.focused is editor.query_one("#conn-1", Input)
        await clear_focused_input(pilot)
        await type_text(pilot, "+250 730 555 666")
        assert error_text(editor, "#err-conn-1") is None
        await pilot.press("alt+up")
        await wait_for(pilot, lambda: editor.query_one("#conn-0", Input).value == "+250 730 555 666")
        assert app.focused is editor.query_one("#conn-0", Input)
        assert "tel:+250730555666 via Airtel" in static_text(editor.query_one("#next-route", Static))
        await saved(pilot)
        assert ws.identities(GRACE) == ["tel:+250730555666", "tel:+250788383999"]
        assert ws.connection_row(LEGACY).contact_id is None  # the old spelling is detached
        await table_ready(pilot, "0788 38")
        await wait_for(pilot, lambda: t.current.priority_identity == "tel:+250730555666")
        assert t.current.name == GRACE
        assert t.current.route.channel.name == "Airtel"
        await wait_for(pilot, lambda: "→ 0730 555 666 via Airtel" in preview_text(app))


async def test_fix_a_number_without_country_code_promote_and_check_the_route(ws):
    """S7's edit, reached with j instead of the filter: fix, promote (alt+up), save, route."""
    app = make_app(ws.url)
    async with app.run_test(size=(80, 24)) as pilot:
        t = await table_ready(pilot)
        await select_name(pilot, GRACE)
        assert t.current.priority_identity == "tel:+250788383999"
        assert t.current.route.channel.name == "MTN"
        editor = await open_editor(pilot)
        await pilot.press("tab", "tab", "tab")
        assert app.focused is editor.query_one("#conn-1", Input)
        await clear_focused_input(pilot)
        await type_text(pilot, "+250 730 555 666")
        assert error_text(editor, "#err-conn-1") is None
        await pilot.press("alt+up")
        await wait_for(pilot, lambda: editor.query_one("#conn-0", Input).value == "+250 730 555 666")
        assert "tel:+250730555666 via Airtel" in static_text(editor.query_one("#next-route", Static))
        await saved(pilot)
        assert ws.identities(GRACE) == ["tel:+250730555666", "tel:+250788383999"]
        assert ws.connection_row(LEGACY).contact_id is None
        await wait_for(pilot, lambda: t.current.priority_identity == "tel:+250730555666")
        assert t.current.name == GRACE and t.current.route.channel.name == "Airtel"
        assert "0730 555 666" in row_text(t, t.cursor) and "Airtel" in row_text(t, t.cursor)
        await wait_for(pilot, lambda: "→ 0730 555 666 via Airtel" in preview_text(app))


async def test_a_new_number_typed_in_place_without_country_code_is_refused(tmp_path):
    """Editing a connection into a number that normalizes to no E.164: live message, nothing saved."""
    from ccconsole.app import open_workspace

    url = f"sqlite:///{tmp_path / 'nocountry.db'}"
    store = open_workspace(url, workspace_name="Nowhere")
    cid = store.contacts.create("Nadia", ["tel:+250788111001"]).id
    store.close()
    app = make_app(url)
    async with app.run_test(size=(100, 30)) as pilot:
        await table_ready(pilot)
        editor = await open_editor(pilot)
        await pilot.press("tab")
        await clear_focused_input(pilot)
        await type_text(pilot, "0788111001")
        await wait_for(pilot, lambda: error_text(editor, "#err-conn-0") is not None)
        assert INVALID_NEW_PHONE in error_text(editor, "#err-conn-0")
        await not_saved(pilot, editor)
        assert INVALID_NEW_PHONE in (error_text(editor, "#err-conn-0") or "")
    store = open_workspace(url)
    assert [c.identity for c in store.contacts.get(cid).connections] == ["tel:+250788111001"]
    store.close()


# --- read-only --------------------------------------------------------------------------------------


async def test_read_only_hides_edit_and_blocks_saving(ws):
    before = ws.contact(ALICE)
    app = make_app(ws.url, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        t = await table_ready(pilot)
        assert "[read-only]" in static_text(app.screen.query_one("#title-bar", Static))
        footer = app.screen.query_one(Footer)

        def footer_keys() -> str:
            return " ".join(str(k.description) for k in footer.query("FooterKey"))

        await wait_for(pilot, lambda: "Filter" in footer_keys(), what="the footer")
        assert "Preview" in footer_keys()
        assert "Edit" not in footer_keys()
        await pilot.press("e")
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ContactsScreen)
        # the palette does not offer it either
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert not any("Update Contact" in title for title in titles)
        # even when the modal is pushed directly, it cannot save
        app.push_screen(ContactEditor(t.current.id))
        await wait_for(pilot, lambda: isinstance(app.screen, ContactEditor) and app.screen.view is not None)
        editor = app.screen
        assert editor.query_one("#save", Button).disabled
        editor.query_one("#conn-1", Input).focus()
        await pilot.press("alt+up")
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        await settle(pilot)
        assert app.screen is editor
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen))
        # the help screen lists no key that changes data
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_text = "\n".join(static_text(s) for s in app.screen.query(Static) if s.id != "editor-title")
        assert "Filter" in help_text and "Update Contact" in help_text  # the section title stays
        assert "Edit" not in help_text and "Save" not in help_text
    after = ws.contact(ALICE)
    assert (after.connections, after.version) == (before.connections, before.version)


# --- hostile names ----------------------------------------------------------------------------------


async def test_hostile_name_in_the_table_is_literal_and_clicking_it_does_nothing(demo_url):
    app = make_app(demo_url, label="demo.db")
    async with app.run_test(size=(80, 24)) as pilot:
        t = await table_ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "name ~ click")
        await pilot.press("enter")
        await table_ready(pilot, "name ~ click")
        assert [r.name for r in t.rows] == ["[@click=app.quit]x"]
        assert "[@click=app.quit]x" in row_text(t, 0)
        for x in (1, 5, 17, 18):  # on the name, on the "x"
            await pilot.click("#contacts", offset=(x, 2))  # border, header, then the row
            await pilot.pause()
        await settle(pilot)
        assert app.is_running and app.return_code is None
        assert t.current.name == "[@click=app.quit]x"


async def test_hostile_names_in_the_preview_title_are_literal(demo_url):
    """The preview's title shows the name literally, and clicking it does not run an action."""
    app = make_app(demo_url, label="demo.db")
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "name ~ click")
        await pilot.press("enter")
        await table_ready(pilot, "name ~ click")
        pv = app.screen.query_one("#preview")
        await wait_for(pilot, lambda: preview_title(app).startswith("Route for"))
        await settle(pilot)
        shown = preview_title(app)
        region = pv.region
        for x in range(1, 24):  # every cell of the title "Route for …"
            await pilot.click(offset=(region.x + x, region.y))
        await pilot.pause(0.2)
        assert app.is_running and app.return_code is None, "clicking the preview title ran app.quit"
        assert shown == "Route for [@click=app.quit]x"


async def test_moving_onto_the_contact_named_close_tag_does_not_crash(demo_url):
    """The demo has a contact named ``[/]``: the cursor can rest on it and the preview names it."""
    app = make_app(demo_url, label="demo.db")
    async with app.run_test(size=(80, 24)) as pilot:
        t = await table_ready(pilot)
        await pilot.press("G")
        await wait_for(pilot, lambda: t.at_end and t.current is not None and t.cursor == len(t.rows) - 1)
        names = [r.name for r in t.rows]
        target = names.index("[/]")
        while t.cursor > target:
            await pilot.press("k")
            await pilot.pause(0.1)
        await settle(pilot)
        await pilot.pause(0.2)
        assert app.is_running
        assert t.current.name == "[/]"
        assert "[/]" in row_text(t, t.cursor)
        await preview_for(pilot, "[/]")


async def test_hostile_names_in_the_editor_are_literal(demo_url):
    app = make_app(demo_url, label="demo.db")
    async with app.run_test(size=(80, 24)) as pilot:
        t = await table_ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "name ~ bold")
        await table_ready(pilot, "name ~ bold")
        await pilot.press("tab")  # to the table (enter would leave the focus in the filter: see above)
        await wait_for(pilot, lambda: app.focused is t)
        assert [r.name for r in t.rows] == ["[bold]Not bold[/bold]"]
        assert "[bold]Not bold[/bol…" in row_text(t, 0)  # the 20-cell name column at 80 columns
        editor = await open_editor(pilot)
        assert static_text(editor.query_one("#editor-title")) == "Update Contact — [bold]Not bold[/bold]"
        assert editor.query_one("#name", Input).value == "[bold]Not bold[/bold]"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen))


async def test_escape_sequence_in_a_name_is_made_visible(demo_url):
    app = make_app(demo_url, label="demo.db")
    async with app.run_test(size=(80, 24)) as pilot:
        t = await table_ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "evil")
        await pilot.press("enter")
        await table_ready(pilot, "evil")
        assert len(t.rows) == 1
        line = row_text(t, 0)
        assert "\x1b" not in line
        assert "Evil ␛[31mRed" in line
