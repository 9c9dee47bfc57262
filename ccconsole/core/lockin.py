"""Lock-in (domain.md section 5) and the expression values ``@contact.urn`` / ``@urns.<scheme>``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Sequence

from ccconsole.core.model import Channel, Connection, Contact
from ccconsole.core.routing import Channels, affinity_problem, as_channels, route


class LockInKind(StrEnum):
    LOCKED_IN = "locked-in"  # all three conditions hold
    SINGLE_CHANNEL = "single-channel"  # affinity to the only channel serving the scheme
    STALE = "stale"  # the priority connection's affinity is ignored by routing
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Condition:
    text: str
    met: bool


@dataclass(frozen=True, slots=True)
class LockIn:
    """The lock-in state of a contact, with the three conditions of domain.md section 5."""

    kind: LockInKind
    channel: Channel | None = None
    connection: Connection | None = None
    conditions: tuple[Condition, ...] = ()
    stale_reason: str | None = None

    @property
    def locked(self) -> bool:
        return self.kind == LockInKind.LOCKED_IN


def affinity_stale_reason(conn: Connection, channels: Channels) -> str | None:
    """Why routing ignores this connection's affinity (None when it has none or it is usable)."""
    if conn.affinity is None:
        return None
    return affinity_problem(channels.by_id.get(conn.affinity), conn.scheme)


def lock_in(contact: Contact, channels: Channels | Sequence[Channel]) -> LockIn:
    """Is the contact locked in to a channel? Judged on its priority connection."""
    if not contact.connections:
        return LockIn(LockInKind.NONE)
    chans = as_channels(channels)
    first = contact.connections[0]
    if first.affinity is None:
        return LockIn(LockInKind.NONE, None, first)
    channel = chans.by_id.get(first.affinity)
    stale = affinity_stale_reason(first, chans)
    serving = chans.senders(first.scheme)
    conditions = (
        Condition(f"several active channels serve {first.scheme} ({len(serving)})", len(serving) > 1),
        Condition(f"the priority connection is of that type ({first.scheme})",
                  channel is not None and channel.serves(first.scheme)),
        Condition(f"the priority connection has affinity to {channel.name if channel else '?'}"
                  f"{'' if stale is None else ' (' + stale + ')'}", stale is None),
    )
    return LockIn(affinity_kind(first.affinity, first.scheme, chans), channel, first, conditions, stale)


def affinity_kind(affinity: int, scheme: str, channels: Channels) -> LockInKind:
    """What the affinity of a priority connection of ``scheme`` amounts to: stale when routing
    ignores it, locked in when several channels could send that scheme, else single-channel."""
    if affinity_problem(channels.by_id.get(affinity), scheme) is not None:
        return LockInKind.STALE
    return LockInKind.LOCKED_IN if len(channels.senders(scheme)) > 1 else LockInKind.SINGLE_CHANNEL


def contact_urn(contact: Contact, channels: Channels | Sequence[Channel]) -> str | None:
    """``@contact.urn``: the connection the route picks; the priority connection when none is routable."""
    decision = route(contact, channels, explain=False)
    if decision.connection is not None:
        return decision.connection.identity
    return contact.connections[0].identity if contact.connections else None


def urns_by_scheme(contact: Contact) -> dict[str, str]:
    """``@urns.<scheme>``: the highest-priority connection of each scheme the contact has."""
    values: dict[str, str] = {}
    for conn in contact.connections:
        values.setdefault(conn.scheme, conn.identity)
    return values
