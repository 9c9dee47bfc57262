"""The audit log: who changed what and when, for the workspace or one contact, filtered and paged.

Every mutation writes one ``AuditEvent`` in its own transaction (``store.unit.epilogue``, in the format of
``core.changes``) with a JSON snapshot of the contact before and after; here those rows are read back newest
first, by key (``id < ?``), and their snapshots compared field by field. The same comparison tells a person whose
save was refused (Conflict) what changed meanwhile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from ccconsole.core.changes import Change, diff, format_snapshot
from ccconsole.store.channels import aware
from ccconsole.store.models import AuditEvent, Channel, Contact
from ccconsole.store.query_sql import escape_like as _escape_like
from ccconsole.store.unit import Scope, reading

PAGE = 50

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
            if self.contact_name:
                return self.contact_name
            # no name: say so, and name it by its priority connection (a number is what staff recognise)
            for snapshot in (self.after, self.before):
                connections = (snapshot or {}).get("connections") or []
                if connections:
                    first = connections[0]
                    return f"(no name) {first[0] if isinstance(first, (list, tuple)) else first}"
            return "(no name)"
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
                + format_snapshot(self.after)
        if self.after is None and self.before is not None:
            return "deleted (was " + format_snapshot(self.before) + ")"
        if self.after is not None and "merged_into" in self.after and self.before is not None:
            return f"merged into {self.after['merged_into']} (was " + format_snapshot(self.before) + ")"
        return "; ".join(str(c) for c in self.changes) or "no visible change"


def _query(scope: Scope, contact_id: int | None, actor: str | None, action: str | None, text: str | None):
    q = (select(AuditEvent, Contact.name, Channel.name)
         .outerjoin(Contact, Contact.id == AuditEvent.contact_id)
         .outerjoin(Channel, Channel.id == AuditEvent.channel_id)
         .where(AuditEvent.workspace_id == scope.workspace.id))
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


def page(scope: Scope, *, contact_id: int | None = None, actor: str | None = None, action: str | None = None,
         text: str | None = None, before_id: int | None = None, limit: int = PAGE) -> list[AuditEntry]:
    """Events newest first; the next page starts ``before_id`` = the last id of this one."""
    q = _query(scope, contact_id, actor, action, text)
    if before_id is not None:
        q = q.where(AuditEvent.id < before_id)
    q = q.order_by(AuditEvent.id.desc()).limit(max(1, min(limit, 500)))
    with reading(scope) as s:
        return [AuditEntry(e.id, aware(e.created_on), e.actor, e.action, e.contact_id, cname, e.channel_id, chname,
                           _load(e.before), _load(e.after))
                for e, cname, chname in s.execute(q).all()]


def count(scope: Scope, *, contact_id: int | None = None, actor: str | None = None, action: str | None = None,
          text: str | None = None) -> int:
    q = _query(scope, contact_id, actor, action, text).with_only_columns(func.count(AuditEvent.id))
    with reading(scope) as c:
        return c.execute(q).scalar_one()


def actors(scope: Scope) -> list[str]:
    """Everyone who changed something in the workspace, alphabetically."""
    with reading(scope) as c:
        return list(c.execute(select(AuditEvent.actor).where(AuditEvent.workspace_id == scope.workspace.id)
                              .distinct().order_by(AuditEvent.actor)).scalars())


def actions(scope: Scope) -> list[str]:
    with reading(scope) as c:
        return list(c.execute(select(AuditEvent.action).where(AuditEvent.workspace_id == scope.workspace.id)
                              .distinct().order_by(AuditEvent.action)).scalars())
