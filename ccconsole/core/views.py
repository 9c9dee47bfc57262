"""Plain frozen results of the use cases (``ccconsole.app``): safe to hand to a thread, a screen or JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ccconsole.core import urns as urnlib
from ccconsole.core.lockin import LockIn
from ccconsole.core.model import Connection, Contact, Status
from ccconsole.core.routing import Route


@dataclass(frozen=True, slots=True)
class WorkspaceInfo:
    id: int
    name: str
    country: str | None
    timezone: str


@dataclass(frozen=True, slots=True)
class ConnectionView:
    id: int
    identity: str
    display: str | None
    priority: int
    affinity_channel_id: int | None
    affinity_since: datetime | None = None
    affinity_message_id: int | None = None

    @property
    def scheme(self) -> str:
        return self.core.scheme

    @property
    def core(self) -> Connection:
        return Connection(self.identity, self.affinity_channel_id, self.display)


@dataclass(frozen=True, slots=True)
class ContactView:
    id: int
    uuid: str
    name: str
    language: str | None
    status: str
    created_on: datetime
    modified_on: datetime
    last_seen_on: datetime | None
    version: int
    connections: tuple[ConnectionView, ...] = ()
    groups: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()  # (field key, value)

    @property
    def core(self) -> Contact:
        return Contact(Status(self.status), tuple(c.core for c in self.connections), self.name, self.id)

    def as_dict(self, country: str | None = None) -> dict:
        return {
            "uuid": self.uuid,
            "name": self.name,
            "language": self.language,
            "status": self.status,
            "created_on": self.created_on.isoformat() if self.created_on else None,
            "modified_on": self.modified_on.isoformat() if self.modified_on else None,
            "last_seen_on": self.last_seen_on.isoformat() if self.last_seen_on else None,
            "version": self.version,
            "connections": [
                {"identity": c.identity, "display": urnlib.display_identity(c.identity, country),
                 "affinity_channel_id": c.affinity_channel_id}
                for c in self.connections
            ],
            "groups": list(self.groups),
            "fields": dict(self.fields),
        }


@dataclass(frozen=True, slots=True)
class ContactRow:
    """One line of the contacts table: the contact, its priority connection and where a message goes."""

    id: int
    uuid: str
    name: str
    status: str
    last_seen_on: datetime | None
    priority_identity: str | None
    route: Route
    lock_in: LockIn

    @property
    def key(self) -> tuple[str, int]:
        return (self.name, self.id)


@dataclass(frozen=True, slots=True)
class RouteView:
    """Everything the routing preview shows for one contact."""

    contact: ContactView
    route: Route
    lock_in: LockIn
    contact_urn: str | None
    urns: dict[str, str] = field(default_factory=dict)
    channel_names: dict[int, str] = field(default_factory=dict)
    # message id -> (when, text) for the inbound messages that set the affinities shown
    affinity_messages: dict[int, tuple[datetime, str]] = field(default_factory=dict)

    def as_dict(self, country: str | None = None) -> dict:
        return {
            "contact": self.contact.as_dict(country),
            "route": self.route.as_dict(),
            "lock_in": {
                "kind": self.lock_in.kind.value,
                "channel": self.lock_in.channel.name if self.lock_in.channel else None,
                "conditions": [{"text": c.text, "met": c.met} for c in self.lock_in.conditions],
                "stale_reason": self.lock_in.stale_reason,
            },
            "contact.urn": self.contact_urn,
            "urns": self.urns,
        }


@dataclass(frozen=True, slots=True)
class InboundResult:
    contact: ContactView
    created: bool
    changed: bool
    message_id: int


def contact_snapshot(view: ContactView) -> dict:
    """What an audit event records of a contact (``core.changes.snapshot``)."""
    from ccconsole.core.changes import snapshot

    return snapshot(name=view.name, status=view.status, language=view.language,
                    connections=[(c.identity, c.affinity_channel_id) for c in view.connections],
                    groups=view.groups, fields=dict(view.fields))


@dataclass(frozen=True, slots=True)
class ApiContact:
    """A contact as the Contacts API lists it (groups with their UUIDs, fields by key)."""

    id: int
    uuid: str
    name: str
    language: str | None
    status: str
    created_on: datetime
    modified_on: datetime
    last_seen_on: datetime | None
    deleted: bool
    connections: tuple[ConnectionView, ...] = ()
    groups: tuple[tuple[str, str], ...] = ()  # (uuid, name)
    fields: tuple[tuple[str, str], ...] = ()  # (key, value)

    @property
    def core(self) -> Contact:
        return Contact(Status(self.status), tuple(c.core for c in self.connections), self.name, self.id)


@dataclass(frozen=True, slots=True)
class ApiGroup:
    id: int
    uuid: str
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class ApiField:
    uuid: str
    key: str
    name: str
    value_type: str


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A token as listed: its user name and dates (the token itself is never stored)."""

    name: str
    created_on: datetime
    revoked_on: datetime | None
