"""Channels: rows of the workspace's channels, read as core Channels, and their writes."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlmodel import Session

from ccconsole.core.model import Channel as CoreChannel
from ccconsole.store.db import read_time, run
from ccconsole.store.models import Channel, Connection, Contact
from ccconsole.store.tablerows import CHANNEL_COLUMNS, CHANNEL_ORDER, core_channel
from ccconsole.store.tablerows import aware as aware  # re-exported: the stores read datetimes with it
from ccconsole.store.unit import Scope, UnitOfWork, reading


def as_core(row: Channel) -> CoreChannel:
    assert row.id is not None  # a stored row
    return core_channel(*(getattr(row, column) for column in CHANNEL_COLUMNS))


def rows(s: Session, workspace_id: int) -> list[CoreChannel]:
    """The workspace's channels, oldest first (the order the resolver expects). Straight through the
    driver: every write's problems refresh reads them."""
    found = run(s, f"SELECT {', '.join(CHANNEL_COLUMNS)} FROM channel WHERE workspace_id = ? "
                   f"ORDER BY {', '.join(CHANNEL_ORDER)}", (workspace_id,)).all()
    columns = [dict(zip(CHANNEL_COLUMNS, r, strict=True)) for r in found]
    # SQLite gives the driver's text for a datetime
    return [core_channel(**{**c, "created_on": read_time(c["created_on"])}) for c in columns]


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
