"""Shared helpers for the console tests: waiting on workers, reading what widgets show, small workspaces."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from sqlalchemy import insert, select
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Input, Static
from textual.worker import WorkerCancelled

from ccconsole.app import Workspace as OpenWorkspace
from ccconsole.app import open_workspace
from ccconsole.store.demo import DEMO_NOW, build_demo
from ccconsole.store.models import Connection
from ccconsole.tui.screens.contacts import ContactsScreen
from ccconsole.tui.screens.editor import ContactEditor
from ccconsole.tui.widgets.contact_table import ContactTable
from ccconsole.tui.widgets.route_preview import RoutePreview
from tests.store_helpers import rw_store

# --- waiting ---------------------------------------------------------------------------------------


async def wait_for(pilot: Pilot, predicate: Callable[[], object], timeout: float = 5.0, what: str = "") -> None:
    """Poll ``predicate`` between frames until it holds (workers post their results as messages)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except Exception:  # a widget that is not mounted yet, a screen in the middle of a switch
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await pilot.pause(0.05)


async def settle(pilot: Pilot) -> None:
    """Let the workers finish and their messages be handled (not the PostgreSQL listener: it never ends)."""
    for worker in [w for w in pilot.app.workers if w.group != "listen"]:
        try:
            await worker.wait()
        except WorkerCancelled:  # an exclusive worker replaced by a newer one (the change-signal poll)
            pass
    await pilot.pause()


def table(app) -> ContactTable:
    return app.screen.query_one(ContactTable) if isinstance(app.screen, ContactsScreen) else \
        app.screen_stack[1].query_one(ContactTable)


def contacts_screen(app) -> ContactsScreen:
    screen = next(s for s in app.screen_stack if isinstance(s, ContactsScreen))
    return screen


def preview(app) -> RoutePreview:
    return contacts_screen(app).query_one(RoutePreview)


async def table_ready(pilot: Pilot, filter_text: str | None = None) -> ContactTable:
    """The contacts table has loaded its rows and its count (for ``filter_text``)."""
    t = table(pilot.app)
    await wait_for(pilot, lambda: t.loaded_once and not t.fetching and t.total is not None
                   and t.filter_text == filter_text, what=f"the table (filter {filter_text!r})")
    return t


def preview_title(app) -> str:
    """The preview's title as shown (``border_title`` reads back as markup)."""
    return Content.from_markup(preview(app).border_title or "").plain


async def preview_for(pilot: Pilot, name: str) -> str:
    """Wait until the preview shows ``name``'s route; return the preview's text."""
    expected = f"Route for {name}"
    await wait_for(pilot, lambda: preview_title(pilot.app) == expected, what=f"the preview of {name!r}")
    return preview_text(pilot.app)


async def open_editor(pilot: Pilot, key: str = "e") -> ContactEditor:
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ContactEditor) and pilot.app.screen.view is not None,
                   what="the Update Contact modal")
    await pilot.pause()
    return pilot.app.screen


async def select_name(pilot: Pilot, name: str) -> None:
    """Move the cursor (keys only) to the contact called ``name`` in the loaded window."""
    t = table(pilot.app)
    index = next(i for i, r in enumerate(t.rows) if r.name == name)
    while t.cursor != index:
        await pilot.press("j" if t.cursor < index else "k")
    await pilot.pause()


async def type_text(pilot: Pilot, text: str) -> None:
    await pilot.press(*text)


async def clear_focused_input(pilot: Pilot) -> None:
    await pilot.press("home", "ctrl+k")


def no_blink(app) -> None:
    for screen in app.screen_stack:
        for box in screen.query(Input):
            box.cursor_blink = False


# --- reading what is shown -------------------------------------------------------------------------


def plain(renderable) -> str:
    """The plain text of a str, Textual Content or rich renderable."""
    if isinstance(renderable, str):
        return renderable
    if isinstance(renderable, Content):
        return renderable.plain
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None, legacy_windows=False)
    console.print(renderable)
    return console.export_text()


def static_text(widget: Static) -> str:
    return plain(widget.content)


def preview_text(app) -> str:
    return static_text(preview(app).query_one("#route-body", Static))


def row_text(t: ContactTable, index: int) -> str:
    """The line the table draws for row ``index`` (which must be on screen)."""
    y = index - t.top + 1
    assert 1 <= y <= t.body_height, f"row {index} is not on screen (top {t.top})"
    return t.render_line(y).text


# --- workspaces ------------------------------------------------------------------------------------


@dataclass
class Workspace:
    url: str
    ids: dict[str, int]

    def store(self) -> OpenWorkspace:
        return open_workspace(self.url)

    def contact(self, name: str):
        store = self.store()
        try:
            return store.contacts.get(self.ids[name])
        finally:
            store.close()

    def identities(self, name: str) -> list[str]:
        return [c.identity for c in self.contact(name).connections]

    def connection_row(self, identity: str):
        store = self.store()
        try:
            with store.scope.engine.connect() as c:
                return c.execute(select(Connection.contact_id, Connection.affinity_channel_id)
                                 .where(Connection.identity == identity)).first()
        finally:
            store.close()


ALICE = "Alice Phone"
BOB = "Bob Twitter"
CAROL = "Carol Telegram"
DORA = "Dora Mail"
GRACE = "Grace Legacy"
OLGA = "Olga Owner"
LEGACY = "tel:0730555666"  # stored before the workspace had a country: no country code


def small_workspace(url: str) -> Workspace:
    """Rwanda: MTN (25078), Airtel (25073), Twitter, Telegram, Email channels and six contacts.

    Sorted by name the table shows Alice, Bob, Carol, Dora, Grace, Olga; Alice, Bob and Carol each have
    a phone number, a Twitter handle and a Telegram id with a different one first (story S1).
    """
    store = rw_store(url)
    try:
        ids = {}
        ids[ALICE] = store.contacts.create(ALICE, ["tel:+250788111001", "twitter:alice", "telegram:111111"]).id
        ids[BOB] = store.contacts.create(BOB, ["twitter:bob", "tel:+250788111002", "telegram:222222"]).id
        ids[CAROL] = store.contacts.create(CAROL, ["telegram:333333", "tel:+250730111003", "twitter:carol"]).id
        ids[DORA] = store.contacts.create(DORA, ["mailto:dora@example.org", "tel:+250730111004"]).id
        ids[GRACE] = store.contacts.create(GRACE, ["tel:+250788383999"]).id
        ids[OLGA] = store.contacts.create(OLGA, ["tel:+250788999000"]).id
        with store.scope.engine.begin() as c:  # a number from before the country was set: as imported long ago
            c.execute(insert(Connection).values(workspace_id=store.info.id, contact_id=ids[GRACE],
                                                scheme="tel", path=LEGACY[4:], identity=LEGACY, priority=999))
        store.cleanup.recompute()  # the problems of that number too
    finally:
        store.close()
    return Workspace(url, ids)


def demo_workspace(url: str, contacts: int = 200, dirt: bool = False) -> str:
    """The demo (seed 7, fixed clock); ``dirt``: with its cleanup work (domain.md section 8), which
    the screens' other tests and snapshots leave out."""
    store = open_workspace(url, actor="demo", workspace_name="Kigali Health", country="RW")
    try:
        build_demo(store.scope, contacts, seed=7, now=DEMO_NOW, dirt=dirt)
    finally:
        store.close()
    return url

