"""A contact's history: its messages (in and out) and the audited changes to its connections.

Audit events keep a JSON snapshot of the contact before and after each change (see
``core.changes``) or, for affinity actions, the connection and its old and new channel; this
module turns them into readable lines: added, detached, reordered, affinity set / cleared / moved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from ccconsole.core.changes import connection_lines
from ccconsole.store.channels import aware
from ccconsole.store.models import AuditEvent, Channel, Connection, Message
from ccconsole.store.unit import Scope, reading

LIMIT = 500


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: int
    when: datetime
    direction: str  # "in" or "out"
    channel: str
    identity: str
    text: str


@dataclass(frozen=True, slots=True)
class ConnectionChange:
    id: int
    when: datetime
    actor: str
    action: str
    lines: tuple[str, ...]  # what changed, one line each


@dataclass(frozen=True, slots=True)
class History:
    messages: tuple[MessageRow, ...]
    changes: tuple[ConnectionChange, ...]


def contact_history(scope: Scope, contact_id: int, *, limit: int = LIMIT) -> History:
    """Newest first: the contact's messages and the audit events that changed its connections."""
    with reading(scope) as s:
        names = {cid: name for cid, name in s.execute(
            select(Channel.id, Channel.name).where(Channel.workspace_id == scope.workspace.id))}
        messages = tuple(
            MessageRow(mid, aware(when), direction, names.get(channel, "—"), identity or "—", text)
            for mid, when, direction, channel, identity, text in s.execute(
                select(Message.id, Message.created_on, Message.direction, Message.channel_id,
                       Connection.identity, Message.text)
                .outerjoin(Connection, Connection.id == Message.connection_id)
                .where(Message.contact_id == contact_id)
                .order_by(Message.created_on.desc(), Message.id.desc()).limit(limit)))
        events = s.execute(
            select(AuditEvent.id, AuditEvent.created_on, AuditEvent.actor, AuditEvent.action,
                   AuditEvent.before, AuditEvent.after)
            .where(AuditEvent.contact_id == contact_id,
                   or_(AuditEvent.action.like("contact.%"), AuditEvent.action.like("affinity.%")))
            .order_by(AuditEvent.created_on.desc(), AuditEvent.id.desc()).limit(limit)).all()
    changes = []
    for eid, when, actor, action, before, after in events:
        lines = connection_lines(action, _load(before), _load(after), names)
        if lines:
            changes.append(ConnectionChange(eid, aware(when), actor, action, tuple(lines)))
    return History(messages, tuple(changes))


def _load(text: str | None):
    return json.loads(text) if text else None


