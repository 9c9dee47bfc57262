"""Lock-in (domain.md section 5) and the expression values ``@contact.urn`` / ``@urns.<scheme>``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ccconsole.core.lists import receive
from ccconsole.core.model import Channel, Connection, Contact
from ccconsole.core.routing import Channels, Route, affinity_problem, as_channels, route


class LockInKind(StrEnum):
    LOCKED_IN = "locked-in"  # all three conditions hold
    SINGLE_CHANNEL = "single-channel"  # affinity to the only channel serving the scheme
    STALE = "stale"  # the affinity is ignored by routing (its channel is inactive, cannot send, ...)
    DORMANT = "not-priority"  # a usable affinity of a connection that is not the priority one
    NONE = "none"


KIND_TEXT = {
    LockInKind.LOCKED_IN: "locked in",
    LockInKind.SINGLE_CHANNEL: "single channel",
    LockInKind.STALE: "stale",
    LockInKind.DORMANT: "not priority",
    LockInKind.NONE: "none",
}


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
    first = contact.connections[0]
    if first.affinity is None:
        return LockIn(LockInKind.NONE, None, first)
    return assess(first, first, channels)


def assess(conn: Connection, priority: Connection, channels: Channels | Sequence[Channel]) -> LockIn:
    """What the affinity of ``conn`` amounts to for a contact whose priority connection is ``priority``:
    the three conditions of domain.md section 5, judged for the channel ``conn`` has affinity to."""
    if conn.affinity is None:
        return LockIn(LockInKind.NONE, None, conn)
    chans = as_channels(channels)
    channel = chans.by_id.get(conn.affinity)
    stale = affinity_stale_reason(conn, chans)
    serving = chans.senders(conn.scheme)
    is_priority = conn.identity == priority.identity
    name = channel.name if channel else "?"
    conditions = (
        Condition(f"several active channels serve {conn.scheme} ({len(serving)})", len(serving) > 1),
        Condition(f"the priority connection is of that type ({priority.scheme})",
                  priority.scheme == conn.scheme and channel is not None and channel.serves(conn.scheme)),
        Condition(f"the priority connection has affinity to {name}"
                  f"{'' if stale is None else ' (' + stale + ')'}",
                  is_priority and stale is None),
    )
    kind = affinity_kind(conn.affinity, conn.scheme, chans, is_priority=is_priority)
    return LockIn(kind, channel, conn, conditions, stale)


def affinity_kind(affinity: int, scheme: str, channels: Channels, *, is_priority: bool = True) -> LockInKind:
    """What an affinity of a connection of ``scheme`` amounts to: stale when routing ignores it, not
    in effect when the connection is not the priority one, locked in when several channels could
    send that scheme, else single-channel."""
    if affinity_problem(channels.by_id.get(affinity), scheme) is not None:
        return LockInKind.STALE
    if not is_priority:
        return LockInKind.DORMANT
    return LockInKind.LOCKED_IN if len(channels.senders(scheme)) > 1 else LockInKind.SINGLE_CHANNEL


def what_if(contact: Contact, identity: str, channel: Channel,
            channels: Channels | Sequence[Channel]) -> tuple[Contact, Route, LockIn]:
    """What an incoming message on ``identity`` through ``channel`` would do (domain.md section 3),
    computed without saving anything: the contact after it, its route and its lock-in."""
    after = receive(contact, identity, channel)
    chans = as_channels(channels)
    return after, route(after, chans), lock_in(after, chans)


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
