"""The audit log: who changed what and when, for the workspace or one contact, filtered and paged.

Every mutation writes one ``AuditEvent`` in its own transaction (services.Store._audit) with a JSON
snapshot of the contact before and after; here those rows are read back newest first, by key
(``id < ?``), and their snapshots compared field by field. The same comparison tells a person whose
save was refused (Conflict) what changed meanwhile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session

from ccconsole.store.models import AuditEvent, Channel, Contact
from ccconsole.store.query_sql import escape_like as _escape_like
from ccconsole.store.services import Store, _aware, _snapshot
from ccconsole.store.views import ContactView

PAGE = 50

# the fields of a contact snapshot in the order people read them, with their labels
FIELD_LABELS = {
    "name": "Name",
    "status": "Status",
    "language": "Language",
    "connections": "Connections",
    "groups": "Groups",
    "fields": "Fields",
    "active": "Active",
    "country": "Country",
    "timezone": "Time zone",
    "type": "Type",
    "schemes": "Schemes",
    "connection": "Connection",
    "affinity_channel_id": "Affinity (channel id)",
}


@dataclass(frozen=True, slots=True)
class Change:
    """One field that differs between two snapshots, as text for people."""

    field: str
    before: str
    after: str

    @property
    def label(self) -> str:
        return FIELD_LABELS.get(self.field, self.field)

    def __str__(self) -> str:
        return f"{self.label}: {self.before} → {self.after}"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    created_on: datetime
    actor: str
    action: str
    contact_id: int | None
    contact_name: str | None
    channel_id: int | None
    channel_name: str | None
    before: dict | None
    after: dict | None

    @property
    def subject(self) -> str:
        """What the event is about: the contact or the channel, by name."""
        if self.contact_id is not None:
            return self.contact_name or f"contact #{self.contact_id}"
        if self.channel_id is not None:
            return f"channel {self.channel_name or self.channel_id}"
        return "workspace"

    @property
    def changes(self) -> list[Change]:
        return diff(self.before, self.after)

    @property
    def summary(self) -> str:
        """One line: the changed fields (or what was created/deleted)."""
        if self.before is None and self.after is not None:
            return ("created: " if self.action.endswith("create") or self.action.endswith(".add") else "") \
                + _fmt_snapshot(self.after)
        if self.after is None and self.before is not None:
            return "deleted (was " + _fmt_snapshot(self.before) + ")"
        return "; ".join(str(c) for c in self.changes) or "no visible change"


def _value(field: str, value: Any) -> str:
    """A snapshot value as people read it."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if field == "connections":
        return ", ".join(str(c[0]) if isinstance(c, (list, tuple)) else str(c) for c in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _fmt_snapshot(snap: dict) -> str:
    parts = []
    for key in FIELD_LABELS:
        if key in snap and snap[key] not in (None, "", [], {}):
            parts.append(f"{FIELD_LABELS[key]} {_value(key, snap[key])}")
    if not parts:  # not a contact/channel snapshot (e.g. an import's summary): every value
        parts = [f"{k} {_value(k, v)}" for k, v in snap.items()]
    return "; ".join(parts) or "—"


def diff(before: dict | None, after: dict | None) -> list[Change]:
    """The fields that differ between two snapshots, in reading order.

    Connections compare as the ordered list of identities *and* affinities, so a promotion or a new
    lock-in shows as a change even when the same connections remain.
    """
    before, after = before or {}, after or {}
    keys = [k for k in FIELD_LABELS if k in before or k in after]
    keys += sorted(k for k in set(before) | set(after) if k not in FIELD_LABELS)
    changes = []
    for key in keys:
        old, new = before.get(key), after.get(key)
        if _normal(old) == _normal(new):
            continue
        if key == "connections":
            old_ids = [c[0] for c in old or []]
            new_ids = [c[0] for c in new or []]
            if old_ids == new_ids:  # only an affinity moved
                changes.append(Change(key, _value(key, old), _value(key, new) + " (channel affinity changed)"))
                continue
        changes.append(Change(key, _value(key, old), _value(key, new)))
    return changes


def _normal(value):
    if isinstance(value, tuple):
        return [_normal(v) for v in value]
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def contact_changes(loaded: ContactView, current: ContactView) -> list[Change]:
    """What changed in a contact between the version someone loaded and the current one."""
    return diff(_snapshot(loaded), _snapshot(current))


def _query(store: Store, contact_id: int | None, actor: str | None, action: str | None, text: str | None):
    q = (select(AuditEvent, Contact.name, Channel.name)
         .outerjoin(Contact, Contact.id == AuditEvent.contact_id)
         .outerjoin(Channel, Channel.id == AuditEvent.channel_id)
         .where(AuditEvent.workspace_id == store.workspace.id))
    if contact_id is not None:
        q = q.where(AuditEvent.contact_id == contact_id)
    if actor and actor.strip():
        q = q.where(func.lower(AuditEvent.actor) == actor.strip().lower())
    if action and action.strip():
        # "update" matches contact.update; "contact." every contact action
        like = f"%{_escape_like(action.strip().lower())}%"
        q = q.where(AuditEvent.action.like(like, escape="\\"))
    if text and text.strip():
        like = f"%{_escape_like(text.strip())}%"
        q = q.where(or_(Contact.name.ilike(like, escape="\\"), Channel.name.ilike(like, escape="\\"),
                        AuditEvent.actor.ilike(like, escape="\\"),
                        AuditEvent.before.ilike(like, escape="\\"), AuditEvent.after.ilike(like, escape="\\")))
    return q


def _load(raw: str | None) -> dict | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return {"raw": raw}
    return value if isinstance(value, dict) else {"value": value}


def page(store: Store, *, contact_id: int | None = None, actor: str | None = None, action: str | None = None,
         text: str | None = None, before_id: int | None = None, limit: int = PAGE) -> list[AuditEntry]:
    """Events newest first; the next page starts ``before_id`` = the last id of this one."""
    q = _query(store, contact_id, actor, action, text)
    if before_id is not None:
        q = q.where(AuditEvent.id < before_id)
    q = q.order_by(AuditEvent.id.desc()).limit(max(1, min(limit, 500)))
    with Session(store.engine) as s:
        return [AuditEntry(e.id, _aware(e.created_on), e.actor, e.action, e.contact_id, cname, e.channel_id, chname,
                           _load(e.before), _load(e.after))
                for e, cname, chname in s.execute(q).all()]


def count(store: Store, *, contact_id: int | None = None, actor: str | None = None, action: str | None = None,
          text: str | None = None) -> int:
    q = _query(store, contact_id, actor, action, text).with_only_columns(func.count(AuditEvent.id))
    with store.engine.connect() as c:
        return c.execute(q).scalar_one()


def actors(store: Store) -> list[str]:
    """Everyone who changed something in the workspace, alphabetically."""
    with store.engine.connect() as c:
        return list(c.execute(select(AuditEvent.actor).where(AuditEvent.workspace_id == store.workspace.id)
                              .distinct().order_by(AuditEvent.actor)).scalars())


def actions(store: Store) -> list[str]:
    with store.engine.connect() as c:
        return list(c.execute(select(AuditEvent.action).where(AuditEvent.workspace_id == store.workspace.id)
                              .distinct().order_by(AuditEvent.action)).scalars())
