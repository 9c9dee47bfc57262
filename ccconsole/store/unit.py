"""The unit of work and THE write epilogue: how every write transaction ends, whoever writes.

A :class:`Scope` is what persistence needs to know of an open workspace (its engine, which
workspace, who acts, whether it may write). :func:`transaction` opens one write transaction and, when
the block ends without an error, runs :func:`epilogue` and commits: the audit events the block
recorded are inserted, the workspace's change sequence is bumped and (PostgreSQL) a NOTIFY is sent,
all in the same transaction. Services, the importer, the bulk lock-in actions, merges and the demo all
end this way, so consoles and API servers hear of every change and the audit log has one format.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection as DBConnection
from sqlalchemy import Engine
from sqlmodel import Session

from ccconsole.core.views import WorkspaceInfo
from ccconsole.errors import ReadOnly, translate
from ccconsole.store import live
from ccconsole.store.db import WRITE_OPTION, run, run_many, stamp


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Scope:
    """An open workspace as persistence sees it."""

    engine: Engine
    workspace: WorkspaceInfo
    actor: str
    read_only: bool = False

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def check_writable(self) -> None:
        if self.read_only:
            raise ReadOnly("The workspace is open read-only: nothing can be changed.")


@dataclass(frozen=True, slots=True)
class Event:
    """One audit event: what was done, to which contact or channel, the state before and after.

    Contact events carry snapshots (``core.changes.snapshot``); affinity events the connection and
    its old and new channel; workspace-wide events (an import, the demo) a summary."""

    action: str
    contact_id: int | None = None
    channel_id: int | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


@dataclass
class UnitOfWork:
    """One write transaction: the session to write with and the audit events to record."""

    session: Session
    scope: Scope
    events: list[Event] = field(default_factory=list)
    now: datetime = field(default_factory=utcnow)
    discard: bool = False  # a dry run: roll back instead of committing
    touched: set[int] = field(default_factory=set)  # contacts whose problems must be computed again
    rescan: bool = False  # every contact's problems (a channel or the workspace's country changed)
    problems_deferred: bool = False  # a bulk load sets rescan at its end instead (its indexes are down)
    known: dict[int, Any] = field(default_factory=dict)  # contact id -> its core.model.Contact as written
    facts: dict[int, tuple] = field(default_factory=dict)  # contact id -> its core.problems.facts, computed
    seq: int | None = None  # the change sequence this transaction committed

    @property
    def connection(self) -> DBConnection:
        """The transaction's Core connection (for bulk statements straight through the driver)."""
        return self.session.connection()

    def audit(self, action: str, *, contact_id: int | None = None, channel_id: int | None = None,
              before: Mapping[str, Any] | None = None, after: Mapping[str, Any] | None = None) -> None:
        self.events.append(Event(action, contact_id, channel_id, before, after))
        if contact_id is not None:  # every change of a contact is audited: its problems may have changed
            self.touched.add(contact_id)

    def audit_now(self, action: str, *, contact_id: int | None = None, channel_id: int | None = None,
                  before: Mapping[str, Any] | None = None, after: Mapping[str, Any] | None = None) -> int:
        """Record an event at once and return its id (to name it to the user, e.g. what to undo); it
        commits or rolls back with the rest of the transaction."""
        event = Event(action, contact_id, channel_id, before, after)
        if contact_id is not None:
            self.touched.add(contact_id)
        return run(self.session, _INSERT_EVENT + " RETURNING id",
                   _event_params(self.scope, event, stamp(self.session, self.now))).scalar_one()

    def write_events(self) -> None:
        """Insert the events recorded so far now (a long bulk write keeps memory flat this way), and
        bring the touched contacts' problems up to date; the epilogue does the rest."""
        self.refresh_problems()
        insert_events(self.session, self.scope, self.events, self.now)
        self.events.clear()

    def refresh_problems(self) -> None:
        """The stored problems (store.problems) of what this unit of work changed, made true again."""
        from ccconsole.store import problems

        if self.problems_deferred:  # kept for the end of the bulk load
            return
        self.session.flush()
        if self.rescan:
            problems.rescan(self.session, self.scope)
        elif self.touched:
            problems.refresh(self.session, self.scope, self.touched, known=self.known, facts=self.facts)
        self.rescan = False
        self.touched.clear()
        self.known.clear()
        self.facts.clear()


_JSON = json.JSONEncoder(default=str)  # json.dumps with an option builds an encoder per call


def _dump(value: Mapping[str, Any] | None) -> str | None:
    return _JSON.encode(value) if value is not None else None


def insert_events(conn: DBConnection | Session, scope: Scope, events: Sequence[Event],
                  now: datetime | None = None) -> None:
    """The audit rows of ``events``, by ``scope``'s actor."""
    if events:
        when = stamp(conn, now or utcnow())
        run_many(conn, _INSERT_EVENT, [_event_params(scope, e, when) for e in events])


_INSERT_EVENT = ("INSERT INTO audit_event (workspace_id, actor, action, contact_id, channel_id, \"before\", \"after\", "
                 "created_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


def _event_params(scope: Scope, e: Event, when: Any) -> tuple:
    """The parameters of :data:`_INSERT_EVENT` for ``e`` (``when`` as :func:`store.db.stamp` gives it)."""
    return (scope.workspace.id, scope.actor, e.action, e.contact_id, e.channel_id, _dump(e.before), _dump(e.after),
            when)


def epilogue(conn: DBConnection | Session, scope: Scope, events: Sequence[Event], now: datetime | None = None) -> int:
    """THE end of every write, inside its transaction: the audit events, the change sequence bump
    and the NOTIFY that other consoles and servers listen for. Returns the new change sequence."""
    ws = scope.workspace.id
    if isinstance(conn, Session):
        conn.flush()  # the ORM's pending writes first: these statements go around it
    insert_events(conn, scope, events, now)
    seq = run(conn, "UPDATE workspace SET change_seq = change_seq + 1 WHERE id = ? RETURNING change_seq",
              (ws,)).scalar_one()
    live.notify(conn, ws)  # PostgreSQL: listeners hear it when this commits
    return int(seq)


BULK_CACHE_KIB = 262_144  # the page cache of a bulk transaction (SQLite): its pages are written once, at commit


@contextmanager
def transaction(scope: Scope, *, dry_run: bool = False, bulk: bool = False) -> Iterator[UnitOfWork]:
    """One write transaction that ends with :func:`epilogue` (or, for a dry run or an error, a
    rollback). Database errors come out translated (``ccconsole.errors.translate``).

    ``bulk``: a transaction that writes thousands of contacts (a chunk of a re-normalization), inside
    :func:`checkpointing`. It runs without cyclic garbage collection passes and, on SQLite, with a
    page cache large enough to hold every page it changes (SQLite's default, 2 MB, spills changed
    pages to the WAL while the transaction runs and writes a page again each time it changes once
    more) and without checkpointing the WAL at its commit (the thread of :func:`checkpointing` does
    that meanwhile); its connection gets its own settings back after the commit."""
    scope.check_writable()
    writer = scope.engine.execution_options(**{WRITE_OPTION: True})
    with ExitStack() as stack:
        if bulk:
            stack.enter_context(no_gc_passes())
        if bulk and scope.dialect == "sqlite":
            conn = stack.enter_context(writer.connect())  # kept until its settings are back
            raw = conn.connection.dbapi_connection
            before = _pragmas(raw, {"cache_size": -BULK_CACHE_KIB, "wal_autocheckpoint": 0})
            stack.callback(_restore, raw, before)
            s = stack.enter_context(Session(bind=conn))
        else:
            s = stack.enter_context(Session(writer))
        uow = UnitOfWork(s, scope, discard=dry_run)
        try:
            yield uow
            if uow.discard:
                s.rollback()
            else:
                uow.refresh_problems()
                uow.seq = epilogue(s, scope, uow.events, uow.now)
                s.commit()
        except BaseException as err:
            s.rollback()
            translated = translate(err)
            if translated is not None and translated is not err:
                raise translated from err
            raise


def _pragmas(raw: Any, values: Mapping[str, int]) -> dict[str, int]:
    """Set these PRAGMAs on a SQLite driver connection (outside any transaction); returns what they were."""
    before = {}
    for name, value in values.items():
        before[name] = int(raw.execute(f"PRAGMA {name}").fetchone()[0])
        raw.execute(f"PRAGMA {name}={int(value)}")
    return before


def _restore(raw: Any, values: Mapping[str, int]) -> None:
    with suppress(Exception):  # a broken connection: the pool drops it, and the error that broke it is told
        _pragmas(raw, values)


@contextmanager
def checkpointing(scope: Scope, every: float = 0.1) -> Iterator[None]:
    """Beside a run of bulk transactions (SQLite): a thread that copies the WAL's committed pages into
    the database file as they come, on its own connection, while the run goes on (it never blocks a
    writer or a reader), and once more when the run ends; a bulk commit leaves that work to it."""
    if scope.dialect != "sqlite":
        yield
        return
    stop = threading.Event()

    def run() -> None:
        with suppress(Exception), scope.engine.connect() as conn:  # a failed checkpoint is only a later one
            raw = conn.connection.dbapi_connection
            while not stop.wait(every):
                raw.execute("PRAGMA wal_checkpoint(PASSIVE)")
            raw.execute("PRAGMA wal_checkpoint(PASSIVE)")

    thread = threading.Thread(target=run, name="ccconsole-checkpoint", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def no_gc_passes() -> Iterator[None]:
    """No cyclic garbage collection passes inside: a bulk write allocates hundreds of thousands of
    short-lived objects without cycles (reference counting frees them), and the collector's passes
    over them and over everything else the process holds cost a sixth to a quarter of its time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def translating() -> Iterator[None]:
    """Database errors raised inside come out translated (``ccconsole.errors.translate``)."""
    try:
        yield
    except Exception as err:
        translated = translate(err)
        if translated is not None and translated is not err:
            raise translated from err
        raise


@contextmanager
def reading(scope: Scope) -> Iterator[Session]:
    """A read-only session; database errors come out translated."""
    with translating(), Session(scope.engine) as s:
        yield s


@contextmanager
def connected(scope: Scope) -> Iterator[DBConnection]:
    """A Core connection for long reads (streamed results); database errors come out translated."""
    with translating(), scope.engine.connect() as conn:
        yield conn
