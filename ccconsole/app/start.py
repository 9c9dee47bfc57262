"""Start-up: the console's first rows before the full workspace is open.

Opening a workspace loads SQLAlchemy and SQLModel and checks the schema and the stored problems: most of
a start-up. :func:`first_page` reads the default view's first page (no filter, by name then id: the
contacts table's first fetch, :data:`PAGE` rows) straight from a SQLite file with the standard library
(``store.startup``, read-only), so the console can show it while :func:`ccconsole.app.open_workspace`
runs in the background. It answers None whenever that is not sure to be right (PostgreSQL, a schema
that is not current, no workspace yet, any doubt): the caller then opens the workspace first, as always.
Importing this module loads no SQLAlchemy.
"""

from __future__ import annotations

from pathlib import Path

from ccconsole.store import startup
from ccconsole.store.startup import FirstPage

__all__ = ["PAGE", "FirstPage", "database_label", "first_page"]

PAGE = 100  # rows the contacts table fetches at a time; its first fetch is the default view's first page


def first_page(url: str) -> FirstPage | None:
    """The workspace and the default view's first :data:`PAGE` rows of the SQLite file ``url`` names, as
    ``ws.browse.page(limit=PAGE)`` would return them once open; None: open the workspace instead."""
    path = startup.plain_sqlite_file(url)
    return startup.read_first_page(path, PAGE) if path is not None else None


def database_label(url: str) -> str:
    """The database as the title bar shows it: no password, the home directory as ~."""
    path = startup.plain_sqlite_file(url)
    if path is None:
        from sqlalchemy.engine import make_url

        from ccconsole.store import db

        path = db.sqlite_path(url)
        if path is None:
            try:
                return make_url(db.normalize_url(url)).render_as_string(hide_password=True)
            except Exception:
                return url
    home, shown = str(Path.home()), str(path)
    return "sqlite:" + ("~" + shown[len(home):] if shown.startswith(home + "/") else shown)
