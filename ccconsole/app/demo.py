"""The demo workspace: built into an empty database, or reset (SQLite) and built again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ccconsole.app.workspace import Workspace, open_workspace
from ccconsole.errors import ReadOnly, StoreError
from ccconsole.store import demo as builder
from ccconsole.store.db import sqlite_path
from ccconsole.store.demo import DemoSummary
from ccconsole.store.unit import translating

__all__ = ["DemoSummary", "build", "ensure", "reset"]

DEMO_NAME = "Kigali Health"
DEMO_COUNTRY = "RW"
NOT_EMPTY = "That database already has a workspace with data; use --reset (SQLite) or another --db."


def open_for_demo(url: str, *, actor: str | None = None, read_only: bool = False) -> Workspace:
    return open_workspace(url, actor=actor, read_only=read_only, workspace_name=DEMO_NAME, country=DEMO_COUNTRY)


def is_empty(ws: Workspace) -> bool:
    return ws.browse.count() == 0 and not ws.channels.list()


def build(ws: Workspace, contacts: int = 3000, *, seed: int = 7,
          progress: Callable[[int, int], None] | None = None) -> DemoSummary:
    """Fill the (empty) workspace with the demo; refused when it has data."""
    ws.scope.check_writable()
    if not is_empty(ws):
        raise StoreError(NOT_EMPTY)
    with translating():
        return builder.build_demo(ws.scope, contacts, seed=seed, progress=progress)


def ensure(url: str, contacts: int = 3000, *, actor: str | None = None,
           announce: Callable[[str], None] | None = None) -> None:
    """Create the demo workspace at ``url`` unless it already has contacts."""
    with open_for_demo(url, actor=actor) as ws:
        if is_empty(ws):
            if announce is not None:
                announce(f"Creating the demo workspace ({contacts:,} contacts)…")
            with translating():
                builder.build_demo(ws.scope, contacts)


def reset(url: str, *, read_only: bool = False) -> None:
    """Delete a SQLite demo database (and its WAL files) so it can be built again. Never in read-only
    mode, and never anything but a SQLite file."""
    if read_only:
        raise ReadOnly("Read-only: --reset would delete the database; nothing was removed.")
    path = sqlite_path(url)
    if path is None:
        return  # only SQLite files are deleted; a PostgreSQL database is left as it is
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
