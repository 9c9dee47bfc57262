"""Channels: rows of the workspace's channels, read as core Channels, and their writes."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import overload

from sqlalchemy import and_, func, select
from sqlmodel import Session

from ccconsole.core.model import Channel as CoreChannel
from ccconsole.store.db import read_time, run
from ccconsole.store.models import Channel, Connection, Contact
from ccconsole.store.unit import Scope, UnitOfWork, reading


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


def as_core(row: Channel) -> CoreChannel:
    assert row.id is not None  # a stored row
    return CoreChannel(
        id=row.id,
        name=row.name,
        type=row.type,
        address=row.address,
        schemes=tuple(s for s in row.schemes.split(",") if s),
        roles=frozenset(r for r in row.roles.split(",") if r),
        country=row.country,
        match_prefixes=tuple(p for p in row.match_prefixes.split(",") if p),
        allow_international=row.allow_international,
        active=row.active,
        created_on=aware(row.created_on),
        uuid=row.uuid,
    )


def rows(s: Session, workspace_id: int) -> list[CoreChannel]:
    """The workspace's channels, oldest first (the order the resolver expects). Straight through the
    driver: every write's problems refresh reads them."""
    found = run(s, "SELECT id, name, type, address, schemes, roles, country, match_prefixes, allow_international, "
                   "active, created_on, uuid FROM channel WHERE workspace_id = ? ORDER BY created_on, id",
                (workspace_id,)).all()
    return [CoreChannel(id=i, name=name, type=kind, address=address, schemes=_split(schemes),
                        roles=frozenset(_split(roles)), country=country, match_prefixes=_split(prefixes),
                        allow_international=bool(international), active=bool(active),
                        created_on=read_time(created) or created, uuid=uuid)
            for i, name, kind, address, schemes, roles, country, prefixes, international, active, created, uuid
            in found]


def _split(text: str) -> tuple[str, ...]:
    return tuple(p for p in text.split(",") if p)


def all_channels(scope: Scope) -> list[CoreChannel]:
    with reading(scope) as s:
        return rows(s, scope.workspace.id)


def name_taken(s: Session, workspace_id: int, name: str) -> bool:
    return s.execute(select(Channel.id).where(Channel.workspace_id == workspace_id,
                                              func.lower(Channel.name) == name.lower())).first() is not None


def insert(uow: UnitOfWork, *, name: str, type: str, address: str, schemes: Sequence[str],
           roles: Sequence[str], country: str | None, match_prefixes: Sequence[str],
           allow_international: bool, created_on: datetime) -> CoreChannel:
    row = Channel(uuid=str(uuidlib.uuid4()), workspace_id=uow.scope.workspace.id, name=name, type=type,
                  address=address, schemes=",".join(schemes), roles=",".join(roles), country=country,
                  match_prefixes=",".join(match_prefixes), allow_international=allow_international,
                  created_on=created_on)
    uow.session.add(row)
    uow.session.flush()
    return as_core(row)


def set_active(uow: UnitOfWork, channel_id: int, active: bool) -> tuple[CoreChannel, bool]:
    """The channel after the change, and whether it changed."""
    row = uow.session.get(Channel, channel_id)
    assert row is not None  # the caller found it; channels are never deleted
    changed = row.active != active
    if changed:
        row.active = active
        uow.session.add(row)
        uow.session.flush()
    return as_core(row), changed


def affinity_counts(scope: Scope) -> dict[tuple[int, str], int]:
    """How many contacts' *priority* connection has affinity to each channel, by connection type:
    ``{(channel id, scheme): contacts}``."""
    first = select(Connection.contact_id, func.max(Connection.priority).label("top")).where(
        Connection.workspace_id == scope.workspace.id, Connection.contact_id.is_not(None)
    ).group_by(Connection.contact_id).subquery()
    q = (select(Connection.affinity_channel_id, Connection.scheme, func.count())
         .join(first, and_(first.c.contact_id == Connection.contact_id, first.c.top == Connection.priority))
         .join(Contact, Contact.id == Connection.contact_id)
         .where(Connection.affinity_channel_id.is_not(None), Contact.deleted_on.is_(None))
         .group_by(Connection.affinity_channel_id, Connection.scheme))
    with reading(scope) as s:
        return {(cid, scheme): n for cid, scheme, n in s.execute(q)}
