"""The row-level writes of cleanup (domain.md section 8): merging, re-normalizing, and undoing both.

The use cases (``ccconsole.app.cleanup``) decide with the core's rules and compose these in one
unit of work; each function here changes rows and returns what an undo needs to put them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import Session

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
