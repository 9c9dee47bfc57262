"""Plain, frozen values the domain works on: channels, connections and contacts.

The store builds these from rows; the resolver and the list operations read them. Nothing here
knows about a database or a screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

SEND = "send"
RECEIVE = "receive"


class Status(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    STOPPED = "stopped"
    ARCHIVED = "archived"


@dataclass(frozen=True, slots=True)
class Channel:
    """A channel of the workspace. ``created_on`` orders channels: oldest first."""

    id: int
    name: str
    type: str
    address: str
    schemes: tuple[str, ...]
    roles: frozenset[str] = frozenset({SEND, RECEIVE})
    country: str | None = None
    match_prefixes: tuple[str, ...] = ()
    allow_international: bool = False
    active: bool = True
    created_on: datetime | None = None
    uuid: str = ""

    @property
    def can_send(self) -> bool:
        return SEND in self.roles

    def serves(self, scheme: str) -> bool:
        return scheme in self.schemes

    def sends(self, scheme: str) -> bool:
        """Active, able to send and serving ``scheme``: the channels routing may pick."""
        return self.active and self.can_send and scheme in self.schemes


@dataclass(frozen=True, slots=True)
class Connection:
    """One connection of a contact: its identity (``scheme:path``) and channel affinity, if any."""

    identity: str
    affinity: int | None = None
    display: str | None = None

    @property
    def scheme(self) -> str:
        return self.identity.partition(":")[0]

    @property
    def path(self) -> str:
        return self.identity.partition(":")[2]


@dataclass(frozen=True, slots=True)
class Contact:
    """What routing needs of a contact: its status and its connections in priority order."""

    status: Status = Status.ACTIVE
    connections: tuple[Connection, ...] = field(default_factory=tuple)
    name: str = ""
    id: int | None = None

    @property
    def is_active(self) -> bool:
        return self.status == Status.ACTIVE
