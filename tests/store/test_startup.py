"""The console's first page read at start-up (``ccconsole.app.start``, ``store.startup``): straight from the
SQLite file with the standard library, it must be the page the open workspace returns, row for row, or
nothing at all (then the console opens the workspace first, as before)."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ccconsole.app import open_workspace, start
from ccconsole.store import db
from ccconsole.store.startup import plain_sqlite_file
from tests.store_helpers import demo_store, rw_store

HOSTILE = ["[/]", "[@click=app.quit]x", "\x1b[31mred\x1b[0m", "\u202eevil", "tab\there", "  spaced  "]


def normal_page(url: str):
    ws = open_workspace(url, read_only=True)
    try:
        return ws.info, ws.browse.page(limit=start.PAGE), ws.change_seq()
    finally:
        ws.close()


def assert_same_page(url: str, expect_rows: int | None = None):
    fast = start.first_page(url)
    assert fast is not None, "the first page should be readable at start-up"
    info, rows, seq = normal_page(url)
    assert fast.info == info
    assert fast.change_seq == seq
    assert [r.id for r in fast.rows] == [r.id for r in rows]  # the same contacts in the same order
    assert fast.rows == rows  # and every column of every row the same (route, lock-in, dates, ...)
    if expect_rows is not None:
        assert len(fast.rows) == expect_rows
    return fast


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_demo_first_page_is_the_normal_one(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    demo_store(url, 400, dirt=True).close()
    before = digest(tmp_path / "demo.db")
    fast = assert_same_page(url, expect_rows=start.PAGE)
    assert fast.info.name == "Kigali Health" and fast.info.country == "RW"
    assert any(r.route.ok for r in fast.rows) and any(not r.route.ok for r in fast.rows)
    assert digest(tmp_path / "demo.db") == before  # read-only: nothing written


def test_edge_data_reads_the_same(tmp_path):
    """No-name and hostile names, ties in the sort order across the page's end, deleted and merged
    contacts, no connections, blocked and stopped, lock-ins (also stale), last seen."""
    url = f"sqlite:///{tmp_path / 'edge.db'}"
    ws = rw_store(url)
    try:
        for i in range(start.PAGE + 5):  # one name for more than a page: the order is by id after the name
            ws.contacts.create("Same", [f"tel:+25078800{i:04d}"])
        for name in HOSTILE:
            ws.contacts.create(name, ["twitter:h" + hashlib.md5(name.encode()).hexdigest()[:8]])
        ws.contacts.create("", ["telegram:4242"])
        ws.contacts.create("", [])
        ws.contacts.create("Blocked", ["tel:+250788777001"], status="blocked")
        ws.contacts.create("Stopped", ["mailto:s@example.org"], status="stopped")
        gone = ws.contacts.create("", ["tel:+250788777002"])
        ws.contacts.delete(gone.id)
        keep = ws.contacts.create("", ["tel:+250788777003"])
        other = ws.contacts.create("", ["tel:+250788777004"])
        ws.cleanup.merge(keep.id, [other.id])
        when = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
        ws.messages.receive("Airtel", "tel:+250788777005", "hi", when=when)  # a lock-in off prefix
        ws.messages.receive("MTN", "tel:+250730777006", "hello", when=when + timedelta(days=1))
        ws.channels.set_active("MTN", False)  # that affinity is stale now
        live = ws.browse.count()
    finally:
        ws.close()
    fast = assert_same_page(url, expect_rows=start.PAGE)
    ids = {r.id for r in fast.rows}
    assert gone.id not in ids and other.id not in ids and keep.id in ids
    # no-name contacts first: two made so, the merge's survivor, two made by the messages (not the
    # deleted one, not the merged one)
    assert [r.name for r in fast.rows[:6]] == [""] * 5 + ["\x1b[31mred\x1b[0m"]
    assert sum(1 for r in fast.rows if r.name == "Same") < start.PAGE + 5  # the page ends inside the ties
    assert live > start.PAGE
    seen = next(r for r in fast.rows if r.last_seen_on is not None)
    assert seen.last_seen_on.tzinfo is not None


def test_an_empty_workspace(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    rw_store(url).close()
    fast = assert_same_page(url, expect_rows=0)
    assert fast.info.name == "Test"


@pytest.mark.parametrize("revisions", [["0005"], ["9999_newer"], [], None])
def test_a_schema_that_is_not_current_takes_the_normal_path(tmp_path, revisions):
    path = tmp_path / "old.db"
    rw_store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        if revisions is None:
            conn.execute("DROP TABLE alembic_version")
        else:
            conn.execute("DELETE FROM alembic_version")
            conn.executemany("INSERT INTO alembic_version VALUES (?)", [(r,) for r in revisions])
    assert start.first_page(f"sqlite:///{path}") is None


def test_no_workspace_yet_takes_the_normal_path(tmp_path):
    path = tmp_path / "bare.db"
    db.open_engine(f"sqlite:///{path}").dispose()  # the schema, no workspace
    assert start.first_page(str(path)) is None


def test_other_databases_and_doubts_take_the_normal_path(tmp_path, backend_url):
    if backend_url.startswith("postgresql"):
        rw_store(backend_url).close()
        assert start.first_page(backend_url) is None
        return
    missing = tmp_path / "missing.db"
    assert start.first_page(f"sqlite:///{missing}") is None
    assert not missing.exists()  # never created
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    assert start.first_page(str(junk)) is None
    assert start.first_page(str(tmp_path)) is None  # a directory
    rw_store(backend_url).close()
    assert start.first_page(backend_url) is not None
    assert start.first_page(backend_url + "?timeout=5") is None  # options: the engine's business
    for url in ("", "sqlite://", "sqlite:///:memory:", "sqlite://host/x.db", "mysql://x/y"):
        assert start.first_page(url) is None


@pytest.mark.parametrize("name", ["plain.db", "with space.db", "per%25cent.db", "per%cent.db", "q?mark.db",
                                  "ünï.db"])
def test_a_url_names_the_file_the_engine_opens(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "sub" / name
    for url in (str(path), f"sqlite:///{path}", db.normalize_url(str(path)), f"sqlite:///sub/{name}"):
        engine = db.make_engine(url)
        try:
            expected = Path(engine.url.database)
        finally:
            engine.dispose()
        if "?" in url.removeprefix("sqlite:///") or (url.startswith("sqlite:///") and "%" in name):
            # a literal ? or % in a hand-written URL means something else to the engine: not read here
            # unless it reads the same
            found = plain_sqlite_file(url)
            assert found is None or found == expected
            continue
        assert plain_sqlite_file(url) == expected


def test_the_home_directory_in_a_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    rw_store(str(tmp_path / "home.db")).close()
    assert plain_sqlite_file("~/home.db") == tmp_path / "home.db"
    assert start.first_page("~/home.db") is not None
    assert start.database_label("~/home.db") == "sqlite:~/home.db"
