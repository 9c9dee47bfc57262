"""The console's first page read straight from a SQLite file with the standard library's sqlite3,
before SQLAlchemy is loaded (it and SQLModel cost most of a start-up).

Read-only (``mode=ro``: it never creates, upgrades or locks anything) and careful: it answers only for a
plain SQLite file whose schema is this code's current one and that has a workspace; for anything else
(PostgreSQL, a missing file, an older or newer schema, a URL with options, no workspace, any error) it
answers None and the caller takes the normal path. The rows are built by ``store.tablerows`` from the
same columns in the same order as ``store.contacts.page``, so they read the same;
tests/store/test_startup.py compares the two row for row.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, unquote

from ccconsole.core.views import ContactRow, WorkspaceInfo
from ccconsole.store import revisions, tablerows

# the only URL form read here (normalize_url makes it of a bare path): no host, no options
_PLAIN = re.compile(r"sqlite:///([^?]*)")


def normalize_url(url: str) -> str:
    """Accept a bare file path for SQLite and plain ``postgresql://`` (driven by psycopg 3).

    A path keeps its characters literally: a ``%`` that would read as an escape (``%25``) and a
    ``?`` are escaped in the URL (``make_url`` decodes them back), anything else is left as it is."""
    if "://" not in url:
        path = str(Path(url).expanduser())
        return "sqlite:///" + re.sub(r"%(?=[0-9A-Fa-f]{2})", "%25", path).replace("?", "%3F")
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def plain_sqlite_file(url: str) -> Path | None:
    """The file of ``url`` when it is a plain SQLite file URL (``sqlite:///path`` or a bare path), read
    the way ``store.db.make_engine`` reads it; None for anything else (other databases, memory, URLs
    with options, a host)."""
    if not url or not url.strip():
        return None
    found = _PLAIN.fullmatch(normalize_url(url))
    if found is None:
        return None
    database = unquote(found.group(1))
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


@dataclass(frozen=True)
class FirstPage:
    """The workspace and the first rows of the default view, with the change sequence they were read at."""

    info: WorkspaceInfo
    rows: list[ContactRow]
    change_seq: int


def _datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None  # as SQLAlchemy reads SQLite's


def read_first_page(path: Path, limit: int) -> FirstPage | None:
    """The first ``limit`` rows of the contacts table (no filter, by name then id) of the database's
    first workspace; None when the database is not one this code can read as it stands."""
    try:
        if not path.is_file():
            return None
        conn = sqlite3.connect(f"file:{quote(str(path), safe='/')}?mode=ro", uri=True, isolation_level=None,
                               timeout=0.2)  # locked (a rollback journal being written): the normal path waits
    except (OSError, sqlite3.Error):
        return None
    try:
        conn.execute("BEGIN")  # one snapshot for every read below
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
                            ).fetchone():
            return None
        if revisions.state(r[0] for r in conn.execute("SELECT version_num FROM alembic_version")) != "current":
            return None
        ws = conn.execute("SELECT id, name, country, timezone, change_seq FROM workspace ORDER BY id LIMIT 1"
                          ).fetchone()
        if ws is None:
            return None
        info = WorkspaceInfo(ws[0], ws[1], ws[2], ws[3])
        columns, order = ", ".join(tablerows.CONTACT_COLUMNS), ", ".join(tablerows.CONTACT_ORDER)
        contacts = conn.execute(
            f"SELECT {columns} FROM contact WHERE workspace_id = ? AND deleted_on IS NULL AND id IN "
            f"(SELECT id FROM contact WHERE workspace_id = ? AND deleted_on IS NULL ORDER BY {order} LIMIT ?) "
            f"ORDER BY {order}", (info.id, info.id, limit)).fetchall()
        contacts = [(cid, cuuid, name, status, _datetime(seen)) for cid, cuuid, name, status, seen in contacts]
        ids = [c[0] for c in contacts]
        connections = conn.execute(
            f"SELECT {', '.join(tablerows.CONNECTION_COLUMNS)} FROM connection "
            f"WHERE contact_id IN ({', '.join('?' * len(ids))}) ORDER BY contact_id, priority DESC, id",
            ids).fetchall() if ids else []
        channels = []
        for row in conn.execute(f"SELECT {', '.join(tablerows.CHANNEL_COLUMNS)} FROM channel WHERE workspace_id = ? "
                                f"ORDER BY {', '.join(tablerows.CHANNEL_ORDER)}", (info.id,)):
            values = list(row)
            at = tablerows.CHANNEL_COLUMNS.index("created_on")
            values[at] = _datetime(values[at])
            channels.append(tablerows.core_channel(*values))
        rows = tablerows.contact_rows(contacts, connections, channels)
        return FirstPage(info, rows, ws[4])
    except Exception:
        return None  # not a database, damaged, locked, an unexpected value: the normal path says what
    finally:
        conn.close()
