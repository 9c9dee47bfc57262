"""Broadcast preview: how a send request to a set of contacts splits across channels. Nothing is sent.

The set is a query (``core.query``) or a list of contact ids (the contacts marked in the console).
Rows stream from the database in big batches (contact, status, connections in priority order) and go
through ``core.routing.BroadcastPlanner``, which resolves each distinct routing situation once with
THE resolver.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator, Sequence

from sqlalchemy import Integer, any_, bindparam, column, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection as DBConnection

from ccconsole.core.routing import Breakdown, BroadcastPlanner, Channels
from ccconsole.store.channels import all_channels
from ccconsole.store.contacts import count, filter_clause
from ccconsole.store.models import Connection, Contact
from ccconsole.store.unit import Scope, reading

BATCH = 20_000  # rows per fetch
PROGRESS_EVERY = 10_000  # contacts

Progress = Callable[[int, int], None]


class Cancelled(Exception):
    """The caller's progress callback asked to stop."""


def _rows(conn: DBConnection, query) -> Iterator[Sequence[tuple]]:
    """Batches of plain tuples straight from a driver cursor (server-side on PostgreSQL): every column
    here is an integer or a string that needs no conversion, and skipping SQLAlchemy's Row layer
    saves a third of the time."""
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = tuple(compiled.params[k] for k in compiled.positiontup) if compiled.positional else compiled.params
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None  # the connection is open
    cursor = dbapi.cursor(name="ccconsole_broadcast") if conn.dialect.name == "postgresql" else dbapi.cursor()
    try:
        cursor.execute(str(compiled), params)
        while batch := cursor.fetchmany(BATCH):
            yield batch
    finally:
        cursor.close()


def _contacts(batches: Iterator[Sequence[tuple]]) -> Iterator[tuple[str, list[tuple[str, int | None]]]]:
    """Rows (contact id, status, identity, affinity, priority, connection id) ordered by contact id
    -> (status, [(identity, affinity), ...] in priority order) per contact."""
    current = None
    status = ""
    group: list[tuple] = []
    for batch in batches:
        for row in batch:
            if row[0] != current:
                if current is not None:
                    yield status, _ordered(group)
                current, status, group = row[0], row[1], []
            if row[2] is not None:
                group.append(row)
    if current is not None:
        yield status, _ordered(group)


def _ordered(group: list[tuple]) -> list[tuple[str, int | None]]:
    if len(group) > 1:
        group.sort(key=lambda r: (-r[4], r[5]))
    return [(r[2], r[3]) for r in group]


def _among(dialect: str, ids: list[int]):
    """``contact.id`` is one of ``ids``, as ONE parameter however many there are (a JSON array on
    SQLite, an array on PostgreSQL): a 100,000-element IN (...) list costs more to build than to run."""
    if dialect == "postgresql":
        return Contact.id == any_(bindparam("ids", ids, type_=ARRAY(Integer)))
    return Contact.id.in_(select(column("value", Integer))
                          .select_from(func.json_each(bindparam("ids", json.dumps(ids)))))


def _select(scope: Scope, where):
    return (select(Contact.id, Contact.status, Connection.identity, Connection.affinity_channel_id,
                   Connection.priority, Connection.id)
            .select_from(Contact).outerjoin(Connection, Connection.contact_id == Contact.id)
            .where(Contact.workspace_id == scope.workspace.id, Contact.deleted_on.is_(None), *where)
            .order_by(Contact.id))


def preview(scope: Scope, *, query: str | None = None, contact_ids: Sequence[int] | None = None,
            progress: Progress | None = None, total: int | None = None) -> Breakdown:
    """The breakdown for the contacts matching ``query`` (all contacts when empty), or for exactly
    ``contact_ids`` (deleted ones are left out). ``progress(done, total)`` is called after each batch
    of rows; it may raise :class:`Cancelled` to stop. A bad query raises ``core.query.QueryError``."""
    planner = BroadcastPlanner(Channels(all_channels(scope)))
    with reading(scope) as s:
        conn = s.connection()
        if contact_ids is not None:
            ids = sorted(set(contact_ids))
            where, expected = [_among(conn.dialect.name, ids)], len(ids)
        else:
            clause = filter_clause(scope, query)
            where = [] if clause is None else [clause]
            # counted only for the progress reports
            expected = total if total is not None else count(scope, query) if progress is not None else 0
        done = 0
        collecting = gc.isenabled()
        gc.disable()  # millions of short-lived tuples, no cycles: the collector only slows this down
        try:
            for status, connections in _contacts(_rows(conn, _select(scope, where))):
                planner.add_raw(status, connections)
                done += 1
                if progress is not None and done % PROGRESS_EVERY == 0:
                    progress(done, max(expected, done))
        finally:
            if collecting:
                gc.enable()
    if progress is not None:
        progress(done, done)
    return planner.result
