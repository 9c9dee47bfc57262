"""Import and export in the console, through Pilot: keys, then the DATA (read again with a fresh store).

Plus one snapshot: the import preview at 80x24.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from textual.widgets import Input, ProgressBar, Static

from ccconsole.tui.app import make_app
from ccconsole.tui.screens.contacts import ContactsScreen
from ccconsole.tui.screens.dialogs import Confirm
from ccconsole.tui.screens.transfer import ExportScreen, ImportScreen
from tests.tui.helpers import ALICE, no_blink, settle, static_text, table_ready, type_text, wait_for


def write_csv(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def summary(app) -> str:
    return static_text(app.screen.query_one("#import-summary", Static))


async def open_import(pilot, path: str) -> ImportScreen:
    await pilot.press("i")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ImportScreen), what="the import screen")
    screen = pilot.app.screen
    assert screen.focused is screen.query_one("#import-path", Input)
    await type_text(pilot, path)
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen.preview is not None or "Fix the file" in summary(pilot.app),
                   timeout=40, what="the dry run")
    await pilot.pause()
    return screen


async def test_import_preview_confirm_and_apply(ws, tmp_path):
    alice = ws.contact(ALICE)
    f = write_csv(tmp_path / "people.csv", [
        ["Contact UUID", "Name", "URN:Tel", "URN:Mailto", "Field:Age"],
        [alice.uuid, "", "", "alice@example.org", "41"],
        ["", "Zoe New", "0788123123", "", "22"],
        ["", "Clash", "+250788111001", "dora@example.org", ""],
        ["", "[@click=app.quit]x", "0788000999", "not-an-email", ""],
    ])
    app = make_app(ws.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await table_ready(pilot)
        screen = await open_import(pilot, str(f))
        text = summary(app)
        assert "people.csv — dry run, nothing changed yet:" in text
        # issue 16 item 10: row 5 creates its contact without the invalid email and lists the error
        # (was: 1 would create, 2 errored rows); only row 4, which cannot be matched, applies nothing
        assert "4 rows: 2 would create a contact, 1 would update one, 0 unchanged" in text
        assert "1 not matched" in text and "2 errors" in text
        assert "Row 4: Unable to find or create contact with URNs tel:+250788111001, mailto:dora@example.org" in text
        assert "Row 5: 'mailto:not-an-email' is not valid URN" in text
        assert ws.identities(ALICE) == [c.identity for c in alice.connections]  # the preview changed nothing
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), what="the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is screen and not screen.busy and "Imported" in summary(app),
                       timeout=20, what="the import")
        assert summary(app).startswith("Imported people.csv: 2 created, 1 updated, 0 unchanged, 1 errored")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen))
        t = await table_ready(pilot)
        await wait_for(pilot, lambda: any(r.name == "Zoe New" for r in t.rows), what="the new contact in the table")
    after = ws.contact(ALICE)
    assert ([c.identity for c in after.connections]
            == [c.identity for c in alice.connections] + ["mailto:alice@example.org"])
    assert dict(after.fields) == {"age": "41"}
    store = ws.store()
    try:
        assert store.contacts.get("tel:+250788123123").name == "Zoe New"
        assert store.contacts.get("tel:+250788000999").name == "[@click=app.quit]x"
        assert store.contacts.owners(["mailto:not-an-email"]) == {}
    finally:
        store.close()


async def test_a_file_level_error_is_shown_and_nothing_can_be_imported(ws, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("Name,Phone\nx,1\n")
    app = make_app(ws.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await table_ready(pilot)
        screen = await open_import(pilot, str(f))
        assert "Import files must contain either UUID or a URN header." in summary(app)
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert app.screen is screen  # no confirmation: there is nothing to import


async def test_cancel_rolls_the_import_back(ws, tmp_path, monkeypatch):
    from ccconsole.store import importer

    real_chunk = importer._Import._chunk

    def slow_chunk(self, conn, batch):  # the real work, made slow enough that esc lands mid-way
        real_chunk(self, conn, batch)
        if not self.dry_run:
            time.sleep(0.5)

    monkeypatch.setattr(importer._Import, "_chunk", slow_chunk)
    rows = [["URN:Tel", "Name"]] + [[f"07885{i:05d}", f"Bulk {i}"] for i in range(12000)]
    f = write_csv(tmp_path / "big.csv", rows)
    store = ws.store()
    before = store.browse.count()
    app = make_app(ws.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await table_ready(pilot)
        screen = await open_import(pilot, str(f))
        assert "12,000 rows: 12,000 would create a contact" in summary(app)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is screen and screen.running
                       and screen.query_one("#import-rate").content, what="the import's progress")
        assert screen.query_one("#import-progress", ProgressBar).display
        await pilot.press("escape")
        await wait_for(pilot, lambda: not screen.busy, timeout=30, what="the cancelled import")
        assert "Import cancelled: everything was rolled back" in summary(app)
        assert app.screen is screen
    assert store.browse.count() == before
    store.close()


async def test_export_the_current_filter(ws, tmp_path):
    out = tmp_path / "alice.csv"
    app = make_app(ws.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await table_ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "Alice")
        await pilot.press("enter")
        await table_ready(pilot, "Alice")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="the export dialog")
        assert "Export the 1 contact matching /Alice" in static_text(app.screen.query_one("#editor-title"))
        box = app.screen.query_one("#export-path", Input)
        box.value = str(out)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen), timeout=20, what="the export")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 2 and rows[1][1] == ALICE



async def test_export_asks_before_replacing_a_file(ws, tmp_path):
    out = tmp_path / "keep.csv"
    out.write_text("precious")
    app = make_app(ws.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await table_ready(pilot)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
        app.screen.query_one("#export-path", Input).value = str(out)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), what="the replace question")
        await pilot.press("enter")  # "No" has the focus
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
        assert out.read_text() == "precious"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen), timeout=20, what="the export")
    assert out.read_text(encoding="utf-8-sig").startswith("Contact UUID,Name")


async def test_read_only_hides_import_and_export(ws):
    app = make_app(ws.url, read_only=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await table_ready(pilot)
        await pilot.press("i")
        await pilot.press("x")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ContactsScreen)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert not any("Import" in t or "Export" in t for t in titles)
    app = make_app(ws.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await table_ready(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert any(t.startswith("Import contacts") for t in titles)
        assert any(t.startswith("Export the contacts") for t in titles)


async def test_path_completion(ws, tmp_path):
    (tmp_path / "contacts-2026.xlsx").write_bytes(b"")
    app = make_app(ws.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await table_ready(pilot)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ImportScreen))
        await type_text(pilot, str(tmp_path / "cont"))
        await pilot.pause(0.2)
        await pilot.press("right")
        assert app.screen.query_one("#import-path", Input).value == str(tmp_path / "contacts-2026.xlsx")


# --- snapshot -----------------------------------------------------------------------------------------


def test_import_preview_snapshot(snap_compare, demo_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the path box shows a relative, stable path
    from ccconsole.app import open_workspace

    store = open_workspace(demo_url)
    first = store.browse.page(limit=1)[0]  # the demo is deterministic: always the same contact
    store.close()
    write_csv(tmp_path / "update.csv", [
        ["UUID", "Name", "URN:Tel", "URN:Mailto", "Field:District"],
        [first.uuid, "", "", "", "Musanze"],
        ["", "Amina Uwase", "0788 100 200", "", "Gasabo"],
        ["", "[/] literal", "+250 788 100 201", "", ""],
        ["", "Bad Mail", "", "not-an-email", ""],
        ["", "Nobody", "", "", "Huye"],
    ])

    async def preview_ready(pilot) -> None:
        await table_ready(pilot)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ImportScreen))
        await type_text(pilot, "update.csv")
        await pilot.press("enter")
        await wait_for(pilot, lambda: pilot.app.screen.preview is not None, timeout=20, what="the dry run")
        await settle(pilot)
        no_blink(pilot.app)
        await pilot.pause()

    assert snap_compare(make_app(demo_url, label="demo.db"), terminal_size=(80, 24), run_before=preview_ready)
