"""The cleanup workbench through Pilot: the Problems screen, a problem's contacts with their reasons,
the merge preview (pick, swap, merge), re-normalizing with its dry run, and undo from the audit log."""

from __future__ import annotations

from textual.widgets import Button, DataTable, Static

from ccconsole.tui.app import make_app
from ccconsole.tui.screens.audit import AuditScreen
from ccconsole.tui.screens.cleanup import MergePreview, ProblemContactsScreen, ProblemsScreen, Renormalize
from ccconsole.tui.screens.dialogs import Confirm
from tests.tui.helpers import GRACE, LEGACY, static_text, wait_for


def cells(app, row: int) -> list[str]:
    return [str(c) for c in app.screen.query_one(DataTable).get_row_at(row)]


def twins(ws):
    """A tel/whatsapp twin of Olga's number: two contacts, one person."""
    store = ws.store()
    try:
        store.contacts.create("Olga O.", ["whatsapp:250788999000", "mailto:olga@example.org"], language="fra")
    finally:
        store.close()


async def open_problems(pilot, app) -> None:
    await pilot.press("P")
    await wait_for(pilot, lambda: isinstance(app.screen, ProblemsScreen)
                   and app.screen.query_one(DataTable).row_count == 7, what="the problems")
    await wait_for(pilot, lambda: "problems in all" in static_text(app.screen.query_one("#problems-note", Static)),
                   what="the counts")


async def open_problem(pilot, app, row: int) -> None:
    await open_problems(pilot, app)
    for _ in range(row):
        await pilot.press("down")
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ProblemContactsScreen)
                   and app.screen.query_one(DataTable).row_count > 0, what="the contacts of the problem")


async def test_problems_screen_counts_and_lists_with_reasons(ws):
    app = make_app(ws.url, label="small.db")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_problems(pilot, app)
        assert cells(app, 0)[:2] == ["local number", "1"]
        assert [cells(app, i)[0] for i in range(7)] == [
            "local number", "invalid connection", "bad number", "duplicate", "unreachable", "no connection",
            "stale affinity"]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProblemContactsScreen)
                       and app.screen.query_one(DataTable).row_count == 1, what="the local numbers")
        row = cells(app, 0)
        assert row[1] == GRACE and LEGACY in row[3] and "+250730555666" in row[3]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ProblemsScreen), what="back")


async def test_merge_a_duplicate_with_its_partner_picking_a_value(ws):
    twins(ws)
    app = make_app(ws.url, label="small.db")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_problem(pilot, app, 3)
        assert app.screen.problem == "duplicate"
        assert app.screen.query_one(DataTable).row_count == 2
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MergePreview) and app.screen.result is not None,
                       what="the merge preview")
        preview = app.screen
        assert "Olga Owner" in static_text(preview.query_one("#merge-sides", Static))  # the older one is kept
        result = static_text(preview.query_one("#merge-result", Static))
        assert "1. tel:+250788999000" in result and "2. mailto:olga@example.org" in result
        assert "whatsapp" not in result
        clashes = preview.query_one("#merge-clashes", DataTable)
        assert [str(c) for c in clashes.get_row_at(0)] == ["name", "Olga Owner", "Olga O.", "kept"]
        await pilot.press("enter")  # take the other side's name
        await wait_for(pilot, lambda: str(clashes.get_row_at(0)[3]) == "other", what="the pick")
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ProblemContactsScreen), what="merged")
    store = ws.store()
    try:
        survivor = store.contacts.get("tel:+250788999000")
        assert survivor.name == "Olga O." and survivor.language == "fra"
        assert [c.identity for c in survivor.connections] == ["tel:+250788999000", "mailto:olga@example.org"]
        assert store.cleanup.counts()["duplicate"] == 0
    finally:
        store.close()


async def test_merge_preview_swap_then_cancel_writes_nothing(ws):
    twins(ws)
    store = ws.store()
    seq = store.change_seq()
    store.close()
    app = make_app(ws.url, label="small.db")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_problem(pilot, app, 3)
        await pilot.press("space", "space")  # mark both
        assert len(app.screen.marked) == 2
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MergePreview) and app.screen.result is not None,
                       what="the merge preview")
        first = app.screen.keep
        await pilot.press("s")
        await wait_for(pilot, lambda: app.screen.result is not None and app.screen.result.survivor.id != first,
                       what="the swapped survivor")
        assert "Keeps:  Olga O." in static_text(app.screen.query_one("#merge-sides", Static))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ProblemContactsScreen), what="cancelled")
    store = ws.store()
    assert store.change_seq() == seq
    store.close()


async def test_renormalize_shows_the_dry_run_then_applies(ws):
    app = make_app(ws.url, label="small.db")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_problems(pilot, app)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, Renormalize) and app.screen.plan is not None,
                       what="the dry run")
        text = static_text(app.screen.query_one("#renorm-plan", Static))
        assert "1  becomes E.164 in place" in text and LEGACY in text
        assert app.screen.focused.id == "renorm-cancel"  # enter right away does nothing destructive
        app.screen.query_one("#renorm-apply", Button).press()
        await wait_for(pilot, lambda: isinstance(app.screen, ProblemsScreen), what="done")
        await wait_for(pilot, lambda: cells(app, 0)[1] == "—", what="no local numbers left")
    assert ws.identities(GRACE) == ["tel:+250788383999", "tel:+250730555666"]


async def test_undo_a_merge_from_the_audit_log(ws):
    twins(ws)
    store = ws.store()
    try:
        olga = store.contacts.get("tel:+250788999000")
        twin = store.contacts.get("whatsapp:250788999000")
        store.cleanup.merge(olga.uuid, [twin.uuid])
    finally:
        store.close()
    app = make_app(ws.url, label="small.db")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen) and app.screen.entries, what="the log")
        assert app.screen.current.action == "contact.merged"
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), what="the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen)
                       and app.screen.entries and app.screen.entries[0].action == "contact.merge.undo",
                       what="the undo event")
    store = ws.store()
    try:
        assert store.contacts.get(twin.uuid).uuid == twin.uuid
    finally:
        store.close()


async def test_read_only_offers_no_merge(ws):
    twins(ws)
    app = make_app(ws.url, label="small.db", read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_problem(pilot, app, 3)
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, ProblemContactsScreen)
