"""Stored values as the domain reads them: a channel row as a core Channel, and the contacts table's rows
(each with its priority connection, route and lock-in) from plain column values.

Shared by the SQLAlchemy reads (``store.channels``, ``store.contacts``) and the start-up read
(``store.startup``, the standard library's sqlite3), so that a row reads the same whichever of them
produced it. Imports no SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, overload

from ccconsole.core.lockin import lock_in
from ccconsole.core.model import Channel as CoreChannel
from ccconsole.core.model import Connection as CoreConnection
from ccconsole.core.model import Contact as CoreContact
from ccconsole.core.model import Status
from ccconsole.core.routing import Channels, route
from ccconsole.core.views import ContactRow

# the columns of a channel row that make a core Channel, in the order of core_channel's arguments
CHANNEL_COLUMNS = ("id", "name", "type", "address", "schemes", "roles", "country", "match_prefixes",
                   "allow_international", "active", "created_on", "uuid")
CHANNEL_ORDER = ("created_on", "id")  # oldest first: the order the resolver expects
# the columns of a contact that make a table row, the table's order (a key: unique), and the columns of
# a contact's connections (read in priority order)
CONTACT_COLUMNS = ("id", "uuid", "name", "status", "last_seen_on")
CONTACT_ORDER = ("name", "id")
CONNECTION_COLUMNS = ("contact_id", "identity", "affinity_channel_id", "display")


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
@overload
def aware(value: datetime | None) -> datetime | None: ...
def aware(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back: they are UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _split(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(",") if part)


def core_channel(id: int, name: str, type: str, address: str, schemes: str, roles: str, country: str | None,
                 match_prefixes: str, allow_international: Any, active: Any, created_on: datetime | None,
                 uuid: str) -> CoreChannel:
    """A channel row (:data:`CHANNEL_COLUMNS`) as the resolver reads it."""
    return CoreChannel(id=id, name=name, type=type, address=address, schemes=_split(schemes),
                       roles=frozenset(_split(roles)), country=country, match_prefixes=_split(match_prefixes),
                       allow_international=bool(allow_international), active=bool(active),
                       created_on=aware(created_on), uuid=uuid)


def contact_rows(contacts: Sequence[Sequence[Any]], connections: Iterable[Sequence[Any]],
                 channels: Sequence[CoreChannel]) -> list[ContactRow]:
    """The table rows of ``contacts`` (:data:`CONTACT_COLUMNS`, in table order) given their connections
    (:data:`CONNECTION_COLUMNS`, each contact's in priority order) and the workspace's channels (oldest
    first)."""
    conns: dict[int, list[CoreConnection]] = {r[0]: [] for r in contacts}
    for cid, identity, affinity, display in connections:
        conns[cid].append(CoreConnection(identity, affinity, display))
    chans = Channels(channels)
    result = []
    for cid, cuuid, name, status, last_seen in contacts:
        core = CoreContact(Status(status), tuple(conns[cid]), name, cid)
        result.append(ContactRow(cid, cuuid, name, status, aware(last_seen),
                                 core.connections[0].identity if core.connections else None,
                                 route(core, chans), lock_in(core, chans)))
    return result
