"""Navigation (issue 15): the top-level screens never stack, esc from one of them goes home, H is in
the footer, ? opens on the current screen's keys, and the README's key table matches the bindings."""

from __future__ import annotations

import re
from pathlib import Path

from textual.widgets import DataTable, Footer, Static
from textual.widgets._footer import FooterKey

from ccconsole.tui import actions
from ccconsole.tui.app import make_app
from ccconsole.tui.screens.audit import AuditScreen
from ccconsole.tui.screens.channels import ChannelsScreen
from ccconsole.tui.screens.contacts import ContactsScreen
from ccconsole.tui.screens.dialogs import HelpScreen
from ccconsole.tui.screens.history import HistoryScreen
from ccconsole.tui.screens.lockins import LockInsScreen
from tests.tui.helpers import plain, settle, table_ready, wait_for

SIZE = (80, 24)
README = Path(__file__).resolve().parents[2] / "README.md"


def stack_types(app) -> list[type]:
    return [type(s) for s in app.screen_stack[1:]]


async def go(pilot, key: str, kind: type) -> None:
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind), what=f"{kind.__name__} after {key}")
    await settle(pilot)


def footer_keys(app) -> list[str]:
    footer = app.screen.query_one(Footer)
    return [item.key for item in footer.query(FooterKey)]


async def test_switching_screens_does_not_stack_and_esc_goes_home(ws):
    app = make_app(ws.url)
    async with app.run_test(size=SIZE) as pilot:
        await table_ready(pilot)
        await go(pilot, "L", LockInsScreen)
        await go(pilot, "C", ChannelsScreen)
        await go(pilot, "L", LockInsScreen)
        await go(pilot, "A", AuditScreen)
        await go(pilot, "C", ChannelsScreen)
        assert stack_types(app) == [ContactsScreen, ChannelsScreen]
        await go(pilot, "escape", ContactsScreen)
        assert stack_types(app) == [ContactsScreen]


async def test_going_to_an_open_screen_returns_to_it_with_its_state(demo_url):
    app = make_app(demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await table_ready(pilot)
        await go(pilot, "L", LockInsScreen)
        lockins = app.screen
        await wait_for(pilot, lambda: lockins.query_one("#lockins", DataTable).row_count > 0, what="lock-ins rows")
        await go(pilot, "h", HistoryScreen)
        await go(pilot, "L", LockInsScreen)
        assert app.screen is lockins
        assert stack_types(app) == [ContactsScreen, LockInsScreen]
        await go(pilot, "H", ContactsScreen)
        assert stack_types(app) == [ContactsScreen]


async def test_home_is_in_the_footer_away_from_home_only(ws):
    app = make_app(ws.url)
    async with app.run_test(size=(120, 30)) as pilot:
        await table_ready(pilot)
        assert "H" not in footer_keys(app)
        await go(pilot, "C", ChannelsScreen)
        await pilot.pause()
        assert "H" in footer_keys(app)


async def test_help_opens_on_the_current_screens_keys(ws):
    app = make_app(ws.url)
    async with app.run_test(size=SIZE) as pilot:
        await table_ready(pilot)
        await go(pilot, "L", LockInsScreen)
        await go(pilot, "question_mark", HelpScreen)
        text = plain(app.screen.query_one("#help VerticalScroll Static", Static).content)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        assert lines[0] == "Lock-ins (this screen)"
        assert lines[1].startswith("/") and "Filter" in lines[1]
        assert lines.index("Everywhere") < lines.index("Contacts")
        for keys in ("ctrl+p", "tab / shift+tab", "→", "H"):
            assert any(line.startswith(keys) for line in lines), keys
        await pilot.press("escape")
        await go(pilot, "escape", ContactsScreen)
        await go(pilot, "question_mark", HelpScreen)
        text = plain(app.screen.query_one("#help VerticalScroll Static", Static).content)
        assert text.strip().startswith("Contacts (this screen)")


README_ROWS = {"everywhere": "app", "contacts": "contacts", "Update Contact": "editor", "import": "import",
               "lock-ins": "lockins", "channels": "channels", "audit log": "audit", "history": "history",
               "problems": "problems", "a problem's contacts": "problem"}


def readme_keys() -> dict[str, str]:
    """The README's keys table: scope -> the row's text."""
    rows = {}
    for line in README.read_text().splitlines():
        m = re.match(r"\| (.+?) \| (.+) \|$", line)
        if m and m.group(1) in README_ROWS:
            rows[README_ROWS[m.group(1)]] = m.group(2)
    return rows


def test_readme_keys_table_lists_every_key_of_every_screen():
    rows = readme_keys()
    assert set(rows) == set(README_ROWS.values())
    missing = []
    for spec in actions.ACTIONS:
        first = actions.key_label(spec.keys).split(" / ")[0]
        shown = {"PgDn": "PgUp/PgDn", "PgUp": "PgUp/PgDn", "↓": "arrows", "↑": "arrows"}.get(first, first)
        if spec.id.startswith("lockins.") and first in "12345":
            shown = "1`–`5"
        if f"`{shown}`" not in rows[spec.scope] and shown not in ("PgUp/PgDn", "arrows"):
            missing.append(f"{spec.id}: `{shown}`")
        elif shown in ("PgUp/PgDn", "arrows") and shown not in rows[spec.scope]:
            missing.append(f"{spec.id}: {shown}")
    assert not missing, missing


async def test_the_editor_footer_ranks_its_keys_and_leaves_out_whole_ones(ws):
    """Update Contact has the ranked footer of every screen: save and cancel first; in a narrow
    terminal the keys that do not fit are left out whole (? lists them), never cut."""
    from ccconsole.tui.screens.editor import ContactEditor
    from ccconsole.tui.widgets.footer import KeyFooter

    app = make_app(ws.url)
    async with app.run_test(size=(60, 24)) as pilot:
        await table_ready(pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ContactEditor) and bool(footer_keys(app)),
                       what="the editor's footer")
        assert isinstance(app.screen.query_one(Footer), KeyFooter)
        keys = footer_keys(app)
        assert keys[:2] == ["ctrl+s", "escape"]
        assert 2 <= len(keys) < 5  # the five do not fit in 60 columns
