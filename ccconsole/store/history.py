"""A contact's history: its messages (in and out) and the audited changes to its connections.

Audit events keep a JSON snapshot of the contact before and after each change (see
``services._snapshot``) or, for affinity actions, the connection and its old and new channel; this
module turns them into readable lines: added, detached, reordered, affinity set / cleared / moved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlmodel import Session

from ccconsole.store.models import AuditEvent, Channel, Connection, Message
from ccconsole.store.services import Store, _aware

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


def contact_history(store: Store, contact_id: int, *, limit: int = LIMIT) -> History:
    """Newest first: the contact's messages and the audit events that changed its connections."""
    with Session(store.engine) as s:
        names = {cid: name for cid, name in s.execute(
            select(Channel.id, Channel.name).where(Channel.workspace_id == store.workspace.id))}
        messages = tuple(
            MessageRow(mid, _aware(when), direction, names.get(channel, "—"), identity or "—", text)
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
        lines = describe(action, _load(before), _load(after), names)
        if lines:
            changes.append(ConnectionChange(eid, _aware(when), actor, action, tuple(lines)))
    return History(messages, tuple(changes))


def _load(text: str | None):
    return json.loads(text) if text else None


def describe(action: str, before: dict | None, after: dict | None, names: dict[int, str]) -> list[str]:
    """What an audit event did to the contact's connections, in words (empty: nothing to them)."""
    def channel(cid) -> str:
        return names.get(cid, f"#{cid}") if cid else "none"

    if action.startswith("affinity."):
        identity = (after or before or {}).get("connection", "?")
        old, new = (before or {}).get("affinity_channel_id"), (after or {}).get("affinity_channel_id")
        return [_affinity_line(identity, old, new, channel)]
    old_list = [(c[0], c[1]) for c in (before or {}).get("connections", [])]
    new_list = [(c[0], c[1]) for c in (after or {}).get("connections", [])]
    old_ids, new_ids = [i for i, _ in old_list], [i for i, _ in new_list]
    lines = [f"+ {i}" for i in new_ids if i not in old_ids]
    lines += [f"− {i} (detached)" for i in old_ids if i not in new_ids]
    kept_old = [i for i in old_ids if i in new_ids]
    kept_new = [i for i in new_ids if i in old_ids]
    if kept_old != kept_new:
        top = kept_new[0]
        promoted = kept_new == [top] + [i for i in kept_old if i != top]
        lines.append(f"priority: {top}" if promoted else "order: " + ", ".join(new_ids))
    elif new_ids and old_ids and new_ids[0] != old_ids[0]:
        lines.append(f"priority: {new_ids[0]}")
    old_aff, new_aff = dict(old_list), dict(new_list)
    for identity in new_ids:
        old, new = old_aff.get(identity), new_aff[identity]
        if old != new:
            lines.append(_affinity_line(identity, old, new, channel))
    return lines


def _affinity_line(identity: str, old, new, channel) -> str:
    if old is None:
        return f"{identity}: affinity {channel(new)}"
    if new is None:
        return f"{identity}: affinity cleared (was {channel(old)})"
    return f"{identity}: affinity {channel(old)} → {channel(new)}"
