"""Live refresh latency: from a commit in another process to the change on the console's screen.

Runs the console headless on a fresh SQLite demo workspace; several times, another process records an
incoming message (the same ``ws.messages.receive`` the ``ccconsole inbound`` command runs) that moves the
highlighted contact's other number to the top, and prints the wall-clock time right after its commit.
The console side polls its widgets every few milliseconds until the contacts table row, the routing
preview and the lock-ins screen show the change. Prints one JSON object (seconds).

    .venv/bin/python bench/refresh_bench.py [--runs 9] [--contacts 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ccconsole.app import open_workspace
from ccconsole.core import urns as urnlib
from ccconsole.store.demo import build_demo
from ccconsole.tui.app import CCConsole, make_app
from ccconsole.tui.screens.contacts import ContactsScreen
from ccconsole.tui.screens.lockins import LockInsScreen
from ccconsole.tui.widgets.contact_table import ContactTable
from ccconsole.tui.widgets.route_preview import RoutePreview

NAME = "Bench Refresh"
NUMBERS = ("tel:+250788000001", "tel:+250788000002")
WRITER = """
import sys, time
from ccconsole.app import open_workspace
store = open_workspace(sys.argv[1], actor="bench-writer")
store.messages.receive(sys.argv[2], sys.argv[3], "bench")
print(time.time(), flush=True)
store.close()
"""


def prepare(url: str, contacts: int) -> None:
    store = open_workspace(url, workspace_name="Bench", country="RW")
    try:
        build_demo(store.scope, contacts)
        store.contacts.create(NAME, list(NUMBERS))
    finally:
        store.close()


def write(url: str, channel: str, identity: str) -> float:
    """Record an inbound message in another process; return the wall-clock time of its commit."""
    out = subprocess.run([sys.executable, "-c", WRITER, url, channel, identity], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip())


async def wait_until(pilot, predicate, timeout: float = 5.0) -> float:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the change did not show")
        await asyncio.sleep(0.002)
    return time.time()


def table_shows(app: CCConsole, identity: str) -> bool:
    screen = next(s for s in app.screen_stack if isinstance(s, ContactsScreen))
    t = screen.query_one(ContactTable)
    row = t.current
    shown = urnlib.display_identity(identity, app.workspace.info.country)
    return row is not None and row.priority_identity == identity and shown in t.render_line(
        t.cursor - t.top + 1).text


def preview_shows(app: CCConsole, identity: str) -> bool:
    screen = next(s for s in app.screen_stack if isinstance(s, ContactsScreen))
    current = screen.query_one(RoutePreview).current
    return current is not None and current.contact.connections[0].identity == identity


def lockins_show(app: CCConsole, identity: str, channel_id: int) -> bool:
    screen = app.screen
    rows = getattr(screen, "_rows", {}) if isinstance(screen, LockInsScreen) else {}
    return any(r.identity == identity and r.channel_id == channel_id and r.kind.value == "locked-in"
               for r in rows.values())


async def measure(url: str, runs: int) -> dict:
    app = make_app(url, label="bench")
    table_lat, preview_lat, lockin_lat = [], [], []
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.query_one(ContactTable).total is not None)
        await pilot.press("slash", *NAME)
        await pilot.press("enter")
        await wait_until(pilot, lambda: (screen.query_one(ContactTable).current or None) is not None
                         and screen.query_one(ContactTable).current.name == NAME)
        channels = {ch.name: ch.id for ch in app.workspace.channels.list()}
        for run in range(runs):
            identity = NUMBERS[(run + 1) % 2]
            committed = await asyncio.to_thread(write, url, "MTN Rwanda", identity)
            seen_table = await wait_until(pilot, lambda: table_shows(app, identity))
            seen_preview = await wait_until(pilot, lambda: preview_shows(app, identity))
            table_lat.append(seen_table - committed)
            preview_lat.append(seen_preview - committed)
        await pilot.press("L")
        await wait_until(pilot, lambda: isinstance(app.screen, LockInsScreen) and app.screen._rows)
        for run in range(runs):
            channel = ("Airtel Rwanda", "MTN Rwanda")[run % 2]
            identity = NUMBERS[0]
            committed = await asyncio.to_thread(write, url, channel, identity)
            seen = await wait_until(pilot, lambda: lockins_show(app, identity, channels[channel]))
            lockin_lat.append(seen - committed)

    def figures(values: list[float]) -> dict:
        return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
                "max": round(max(values), 3)}

    return {"runs": runs, "poll_seconds": CCConsole.POLL_SECONDS,
            "contacts_table": figures(table_lat), "preview": figures(preview_lat),
            "lock_ins_screen": figures(lockin_lat)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--contacts", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        prepare(url, args.contacts)
        result = {"backend": "sqlite", "contacts": args.contacts, **asyncio.run(measure(url, args.runs))}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
