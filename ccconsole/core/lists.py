"""The three ways a contact's connection list changes (domain.md section 3).

- :func:`replace` — Update Contact and the Contacts API: the result is exactly the list given;
- :func:`append` — import: only adds, after the existing ones, never reorders (50 at most);
- :func:`inbound` — an incoming message: its connection moves to the top and takes the affinity.

They work on tuples of :class:`Connection` and return new tuples; ownership across contacts is the
store's business (it knows the other contacts).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ccconsole.core.model import RECEIVE, Channel, Connection, Contact, Status

MAX_CONNECTIONS = 50


class ListError(ValueError):
    """A list change that cannot be made; ``str(err)`` is the message staff see."""


@dataclass(frozen=True, slots=True)
class Replaced:
    connections: tuple[Connection, ...]
    added: tuple[str, ...]  # identities new to the contact
    detached: tuple[str, ...]  # identities removed from the contact (kept, with no contact)


def replace(current: Iterable[Connection], identities: Iterable[str]) -> Replaced:
    """Exactly ``identities``, in that order; connections that stay keep their affinity."""
    old = {c.identity: c for c in current}
    wanted = list(identities)
    seen: set[str] = set()
    result = []
    for identity in wanted:
        if identity in seen:
            raise ListError(f"{identity} is listed twice.")
        seen.add(identity)
        result.append(old.get(identity) or Connection(identity))
    added = tuple(i for i in wanted if i not in old)
    detached = tuple(i for i in old if i not in seen)
    return Replaced(tuple(result), added, detached)


def append(current: Iterable[Connection], identities: Iterable[str]) -> tuple[Connection, ...]:
    """The existing connections, then the new ones in order; ones already present are left alone."""
    result = tuple(current)
    extended = append_identities([c.identity for c in result], identities)
    return result + tuple(Connection(i) for i in extended[len(result):])


def append_identities(current: Sequence[str], identities: Iterable[str]) -> tuple[str, ...]:
    """:func:`append` on identities alone (the importer's form): ``current``, then the new ones."""
    result = list(current)
    present = set(result)
    for identity in identities:
        if identity in present:
            continue
        if len(result) >= MAX_CONNECTIONS:
            raise ListError(f"A contact may have at most {MAX_CONNECTIONS} connections.")
        present.add(identity)
        result.append(identity)
    return tuple(result)


def inbound(current: Iterable[Connection], identity: str, channel_id: int | None,
            channel_can_send: bool) -> tuple[Connection, ...]:
    """An incoming message on ``identity`` through a channel: affinity (if it can send), then to the top."""
    rest = []
    moved = None
    for conn in current:
        if conn.identity == identity:
            moved = conn
        else:
            rest.append(conn)
    if moved is None:
        moved = Connection(identity)
    if channel_can_send and channel_id is not None:
        moved = Connection(moved.identity, channel_id, moved.display)
    return (moved, *rest)


def receive_problem(channel: Channel, scheme: str) -> str | None:
    """Why ``channel`` cannot take an incoming message on a connection of ``scheme`` (None: it can)."""
    if not channel.active:
        return f"Channel {channel.name} is disabled: it receives nothing."
    if RECEIVE not in channel.roles:
        return f"Channel {channel.name} does not receive messages."
    if not channel.serves(scheme):
        return f"Channel {channel.name} does not serve {scheme} connections."
    return None


def unstopped(status: Status) -> Status:
    """An incoming message makes a stopped contact active again; other statuses stay."""
    return Status.ACTIVE if status == Status.STOPPED else status


def receive(contact: Contact, identity: str, channel: Channel) -> Contact:
    """The contact after an incoming message on ``identity`` through ``channel``: its list changed
    by :func:`inbound`, and unstopped."""
    return dataclasses.replace(contact,
                               connections=inbound(contact.connections, identity, channel.id, channel.can_send),
                               status=unstopped(contact.status))
