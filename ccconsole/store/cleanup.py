"""The row-level writes of cleanup (domain.md section 8): merging, re-normalizing, and undoing both.

The use cases (``ccconsole.app.cleanup``) decide with the core's rules and compose these in one
unit of work; each function here changes rows and returns what an undo needs to put them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import Session

from ccconsole.core.model import Connection as CoreConnection
from ccconsole.core.model import Contact as CoreContact
from ccconsole.store import problems as problem_rows
from ccconsole.store.db import execute_in, read_time, run_many, select_in, stamp
from ccconsole.store.models import AuditEvent, Connection, Contact, ContactGroup, GroupMembership, Message
from ccconsole.store.unit import Scope

CONNECTION_STATE = ("id", "contact_id", "identity", "priority", "affinity_channel_id", "affinity_since",
                    "affinity_message_id")


def connection_rows(s: Session, contact_id: int) -> list[Connection]:
    return list(s.execute(select(Connection).where(Connection.contact_id == contact_id)
                          .order_by(Connection.priority.desc(), Connection.id).with_for_update()).scalars())


def state(row: Connection) -> dict[str, Any]:
    """A connection row as an undo records it (datetimes as ISO text)."""
    out = {}
    for key in CONNECTION_STATE:
        value = getattr(row, key)
        out[key] = value.isoformat() if isinstance(value, datetime) else value
    return out


def restore(s: Session, saved: dict[str, Any]) -> None:
    """A connection row back as :func:`state` recorded it."""
    since = saved["affinity_since"]
    s.execute(update(Connection).where(Connection.id == saved["id"]).values(
        contact_id=saved["contact_id"], priority=saved["priority"], affinity_channel_id=saved["affinity_channel_id"],
        affinity_since=datetime.fromisoformat(since) if since else None,
        affinity_message_id=saved["affinity_message_id"]))


def lock_contacts(s: Session, ids: Sequence[int]) -> dict[int, Contact]:
    """These contacts' rows, locked in id order (two staff merging overlapping contacts queue up)."""
    rows = s.execute(select(Contact).where(Contact.id.in_(list(ids))).order_by(Contact.id)
                     .with_for_update().execution_options(populate_existing=True)).scalars().all()
    return {r.id: r for r in rows if r.id is not None}


def messages_of(s: Session, contact_id: int) -> list[tuple[int, int | None]]:
    """``(message id, connection id)`` of a contact's messages."""
    return [tuple(r) for r in s.execute(select(Message.id, Message.connection_id)
                                        .where(Message.contact_id == contact_id).order_by(Message.id)).all()]


def move_messages(s: Session, ids: Sequence[int], contact_id: int) -> None:
    for start in range(0, len(ids), 1000):
        s.execute(update(Message).where(Message.id.in_(list(ids[start:start + 1000]))).values(contact_id=contact_id))


def repoint_messages(s: Session, from_connection: int, to_connection: int) -> list[int]:
    """Messages of one connection become the other's; returns their ids."""
    ids = list(s.execute(select(Message.id).where(Message.connection_id == from_connection)).scalars())
    if ids:
        s.execute(update(Message).where(Message.connection_id == from_connection).values(connection_id=to_connection))
    return ids


def set_message_connections(s: Session, pairs: Sequence[tuple[int, int | None]]) -> None:
    for message_id, connection_id in pairs:
        s.execute(update(Message).where(Message.id == message_id).values(connection_id=connection_id))


def group_names(s: Session, contact_id: int) -> list[str]:
    return list(s.execute(select(ContactGroup.name).join(GroupMembership, GroupMembership.group_id == ContactGroup.id)
                          .where(GroupMembership.contact_id == contact_id).order_by(ContactGroup.name)).scalars())


def leave_groups(s: Session, contact_id: int) -> None:
    s.execute(delete(GroupMembership).where(GroupMembership.contact_id == contact_id))


def message_count(s: Session, contact_id: int) -> int:
    from sqlalchemy import func

    return s.execute(select(func.count()).select_from(Message).where(Message.contact_id == contact_id)).scalar_one()


def merged_into(s: Session, scope: Scope, ref: str) -> Contact | None:
    """The deleted contact with this UUID, if it was merged (None otherwise)."""
    return s.execute(select(Contact).where(Contact.workspace_id == scope.workspace.id, Contact.uuid == ref.strip(),
                                           Contact.merged_into.is_not(None))).scalars().first()


def event(s: Session, scope: Scope, event_id: int) -> AuditEvent | None:
    return s.execute(select(AuditEvent).where(AuditEvent.workspace_id == scope.workspace.id,
                                              AuditEvent.id == event_id)).scalars().first()


def batch_events(s: Session, scope: Scope, action: str, batch: str) -> list[AuditEvent]:
    """The events of one bulk run (their ``after`` names the batch)."""
    return list(s.execute(select(AuditEvent).where(AuditEvent.workspace_id == scope.workspace.id,
                                                   AuditEvent.action == action,
                                                   AuditEvent.after.contains(f'"batch": "{batch}"'))
                          .order_by(AuditEvent.id)).scalars())


def later_undo(s: Session, scope: Scope, event_id: int) -> AuditEvent | None:
    """An event that already undid ``event_id``."""
    return s.execute(select(AuditEvent).where(AuditEvent.workspace_id == scope.workspace.id,
                                              AuditEvent.action.like("%.undo"),
                                              AuditEvent.after.contains(f'"undo_of": "{event_id}"'))
                     ).scalars().first()


def connection_for(s: Session, scope: Scope, identity: str) -> Connection | None:
    """The connection row with this identity (attached or detached), locked."""
    return s.execute(select(Connection).where(Connection.workspace_id == scope.workspace.id,
                                              Connection.identity == identity).with_for_update()).scalars().first()


def connection(s: Session, connection_id: int) -> Connection | None:
    return s.get(Connection, connection_id)


def owner(s: Session, connection_id: int) -> int | None:
    return s.execute(select(Connection.contact_id).where(Connection.id == connection_id)).scalar_one_or_none()


def merge_events_near(s: Session, scope: Scope, event_id: int) -> list[AuditEvent]:
    """The merge events written with a ``contact.merged`` event (the same transaction writes them side
    by side)."""
    return list(s.execute(select(AuditEvent).where(
        AuditEvent.workspace_id == scope.workspace.id, AuditEvent.action == "contact.merge",
        AuditEvent.id > event_id - 2, AuditEvent.id < event_id + 2)).scalars())


# --- re-normalizing many contacts at once ----------------------------------------------------------


@dataclass
class Renormalized:
    """What re-normalizing one contact did: its outcomes, and (when something changed) its
    connections before and after (identity, affinity) and what an undo needs (``items``);
    ``contact``: the contact as it is now, as the rules read it (``store.problems.load``; None once
    its facts are computed, in a plan from ``store.planner``)."""

    contact_id: int
    name: str
    status: str
    language: str | None
    outcomes: list[str]
    before: list[tuple[str, int | None]]
    after: list[tuple[str, int | None]]
    items: list[dict[str, Any]]
    contact: CoreContact | None


@dataclass
class ChunkRead:
    """What re-normalizing some contacts reads: the live ones (``heads``: id, name, status, language),
    their connections in priority order (``conns``, one dict per row), the E.164 identity each local
    number becomes (``wanted``) and the rows that hold those identities already (``holders``)."""

    heads: dict[int, tuple]
    conns: dict[int, list[dict[str, Any]]]
    wanted: dict[str, str]
    holders: dict[str, dict[str, Any]]


@dataclass
class ChunkPlan:
    """What re-normalizing those contacts does (:func:`decide`): each contact's result and the rows
    to write (:func:`write_chunk`)."""

    results: list[Renormalized]
    in_place: list[tuple[str, str, int]]
    retarget: list[dict[str, Any]]
    repoint: list[tuple[int, int, dict[str, Any]]]
    detach: list[int]


_COLUMNS = (*CONNECTION_STATE, "path", "display")


def _row(row: Sequence[Any]) -> dict[str, Any]:
    found = dict(zip(_COLUMNS, row, strict=True))
    found["affinity_since"] = read_time(found["affinity_since"])
    return found


def read_chunk(db: Any, workspace_id: int, country: str | None, contact_ids: Sequence[int], *,
               lock: bool) -> ChunkRead:
    """Read what re-normalizing these contacts needs (``db``: a Core connection; ``lock``: PostgreSQL
    locks the rows ``FOR UPDATE``, SQLite's writer holds the write lock already)."""
    from ccconsole.core import problems as rules

    locking = " FOR UPDATE" if lock and db.dialect.name == "postgresql" else ""
    heads = {r[0]: tuple(r) for r in select_in(db, "SELECT id, name, status, language FROM contact WHERE id {in} "
                                                     "AND deleted_on IS NULL ORDER BY id" + locking, list(contact_ids))}
    conns: dict[int, list[dict[str, Any]]] = {cid: [] for cid in sorted(heads)}
    listed = ", ".join(_COLUMNS)
    for row in select_in(db, f"SELECT {listed} FROM connection WHERE contact_id {{in}} "
                               f"ORDER BY contact_id, priority DESC, id" + locking, list(heads)):
        conns[row[1]].append(_row(row))
    wanted = {c["identity"]: new for cl in conns.values() for c in cl
              if (new := rules.renormalize(c["identity"], country)) is not None}
    loaded = {c["id"]: c for cl in conns.values() for c in cl}  # one dict per row, shared below
    holders: dict[str, dict[str, Any]] = {}
    for row in select_in(db, f"SELECT {listed} FROM connection WHERE workspace_id = {{p}} AND identity {{in}}"
                               + locking, sorted(set(wanted.values())), workspace_id):
        holders[row[2]] = loaded.get(row[0]) or _row(row)
    return ChunkRead(heads, conns, wanted, holders)


def decide(read: ChunkRead) -> ChunkPlan:
    """Re-normalize the local numbers of the contacts read (domain.md section 8), in memory: a
    connection nobody else has becomes E.164 in place; one the contact (or nobody: a detached row)
    has already takes the local one's messages (and its affinity, if it has none) and the local one
    is detached; one another contact owns stays. ``read``'s rows (``holders`` too) are updated to
    what they become, so two numbers of the chunk that become one are decided one after the other."""
    from ccconsole.core import problems as rules

    wanted, holders = read.wanted, read.holders
    in_place, retarget, detach, repoint = [], [], [], []
    results = []
    for cid, mine in read.conns.items():
        _, name, status, language = read.heads[cid]
        before = [(c["identity"], c["affinity_channel_id"]) for c in mine]
        outcomes, items = [], []
        for conn in mine:
            new = wanted.get(conn["identity"])
            if new is None:
                continue
            target = holders.get(new)
            outcome = rules.renormalize_outcome(conn["identity"], new, target["contact_id"] if target else None, cid)
            outcomes.append(outcome.value)
            if outcome == rules.Outcome.DUPLICATE:
                continue
            item: dict[str, Any] = {"old": conn["identity"], "new": new, "outcome": outcome.value,
                                    "local": _saved(conn)}
            if target is None:  # the connection becomes it in place
                in_place.append((new, new.partition(":")[2], conn["id"]))
                conn["identity"] = new
                holders[new] = conn
            else:  # dropped into the contact's own (or a detached) connection with that number
                item["target"] = _saved(target)
                if target["contact_id"] is None:
                    target["contact_id"], target["priority"] = cid, conn["priority"]
                if target["affinity_channel_id"] is None and conn["affinity_channel_id"] is not None:
                    for key in ("affinity_channel_id", "affinity_since", "affinity_message_id"):
                        target[key] = conn[key]
                retarget.append(target)
                repoint.append((conn["id"], target["id"], item))
                detach.append(conn["id"])
                conn["contact_id"] = None
            items.append(item)
        now_mine = {c["id"]: c for c in mine}
        now_mine.update((t["id"], t) for t in retarget if t["contact_id"] == cid)  # a detached row it took
        now_rows = [c for c in sorted(now_mine.values(), key=lambda c: (-c["priority"], c["id"]))
                    if c["contact_id"] == cid]
        after = [(c["identity"], c["affinity_channel_id"]) for c in now_rows]
        contact = CoreContact(problem_rows.status_of(status), tuple(
            CoreConnection(c["identity"], c["affinity_channel_id"], c["display"]) for c in now_rows), name or "", cid)
        results.append(Renormalized(cid, name, status, language, outcomes, before, after, items, contact))
    return ChunkPlan(results, in_place, retarget, repoint, detach)


def write_chunk(s: Session, plan: ChunkPlan, now: datetime) -> list[Renormalized]:
    """Write what :func:`decide` decided; the contacts changed get version + 1."""
    db = s.connection()
    if plan.in_place:
        run_many(db, "UPDATE connection SET identity = ?, path = ? WHERE id = ?", plan.in_place)
    for local_id, target_id, item in plan.repoint:
        item["messages"] = repoint_messages(s, local_id, target_id)
    if plan.retarget:
        run_many(db, "UPDATE connection SET contact_id = ?, priority = ?, affinity_channel_id = ?, affinity_since = ?, "
                       "affinity_message_id = ? WHERE id = ?",
                 [(t["contact_id"], t["priority"], t["affinity_channel_id"], stamp(db, t["affinity_since"]),
                   t["affinity_message_id"], t["id"]) for t in plan.retarget])
    if plan.detach:
        execute_in(db, "UPDATE connection SET contact_id = NULL, affinity_channel_id = NULL, affinity_since = NULL, "
                         "affinity_message_id = NULL WHERE id {in}", plan.detach)
    changed = [r.contact_id for r in plan.results if r.items]
    if changed:
        execute_in(db, "UPDATE contact SET version = version + 1, modified_on = {p} WHERE id {in}", changed,
                   stamp(db, now))
    return plan.results


def renormalize_contacts(s: Session, scope: Scope, contact_ids: Sequence[int], now: datetime) -> list[Renormalized]:
    """Re-normalize the local numbers of these contacts (:func:`decide`) inside the caller's
    transaction: read them (locked), decide, write."""
    s.flush()  # the statements go straight through the driver (store.db.run), around the ORM
    read = read_chunk(s.connection(), scope.workspace.id, scope.workspace.country, contact_ids, lock=True)
    return write_chunk(s, decide(read), now)


def _saved(conn: dict[str, Any]) -> dict[str, Any]:
    """A connection as :func:`state` records it, from a row mapping."""
    return {k: (conn[k].isoformat() if isinstance(conn[k], datetime) else conn[k]) for k in CONNECTION_STATE}
