"""Live change signals between consoles sharing one database.

Every write transaction bumps ``workspace.change_seq`` (``store.unit.epilogue``, which every write
ends with). On PostgreSQL the same transaction also sends ``NOTIFY ccconsole_ws_<id>, '<seq>'``,
delivered to listeners only when it commits; a :class:`Listener` holds one dedicated psycopg
connection that LISTENs on that channel.
SQLite has no such thing: consoles poll the change sequence (one indexed read).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from ccconsole.store.models import Workspace


def channel_name(workspace_id: int) -> str:
    return f"ccconsole_ws_{int(workspace_id)}"


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def notify(s, workspace_id: int) -> None:
    """Inside a write transaction (a Session or a Connection), after the change_seq bump: tell listeners
    the new sequence when it commits."""
    bind = s.get_bind() if isinstance(s, Session) else s
    if bind.dialect.name != "postgresql":
        return
    seq = s.execute(select(Workspace.change_seq).where(Workspace.id == workspace_id)).scalar_one()
    s.execute(text("SELECT pg_notify(:channel, :payload)"),
              {"channel": channel_name(workspace_id), "payload": str(seq)})


class Listener:
    """A dedicated autocommit psycopg connection LISTENing for one workspace's changes.

    ``changes(timeout)`` yields each notified change sequence (an int) and returns when ``timeout``
    seconds pass without one, so the caller can check whether it should stop. Connection errors
    propagate (psycopg.OperationalError); the caller reconnects with a back-off.
    """

    def __init__(self, engine: Engine, workspace_id: int):
        import psycopg

        url = engine.url
        self.channel = channel_name(workspace_id)
        extra: dict[str, Any] = dict(url.query)  # more connection keywords (sslmode=...), as given
        self.conn = psycopg.connect(
            host=url.host, port=url.port, user=url.username, password=url.password, dbname=url.database,
            autocommit=True, connect_timeout=3, **extra)
        self.conn.execute(f"LISTEN {self.channel}")

    def changes(self, timeout: float) -> Iterator[int]:
        deadline = time.monotonic() + timeout
        for note in self.conn.notifies(timeout=timeout, stop_after=None):
            try:
                yield int(note.payload)
            except ValueError:
                yield -1
            if time.monotonic() > deadline:
                return

    def ping(self) -> None:
        """A round trip: raises when the server is gone (notifies() alone may not notice)."""
        self.conn.execute("SELECT 1")

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:
            pass
