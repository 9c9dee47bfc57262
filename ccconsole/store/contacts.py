"""Contacts in SQL: reading them as views, finding them, paging the table, and the row-level writes
the use cases (``ccconsole.app.contacts``, ``ccconsole.app.inbound``) compose in one transaction."""

from __future__ import annotations

import dataclasses
import uuid as uuidlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session

from ccconsole.core import urns as urnlib
from ccconsole.core.model import Connection as CoreConnection
from ccconsole.core.views import ConnectionView, ContactRow, ContactView
from ccconsole.errors import RACE_TEXT, NotFound, RaceLost
from ccconsole.store import channels as channel_rows
from ccconsole.store import tablerows
from ccconsole.store.channels import aware
from ccconsole.store.db import marks, read_time, run, stamp
from ccconsole.store.models import (
    Connection,
    Contact,
    ContactGroup,
    FieldDef,
    GroupMembership,
    Message,
)
from ccconsole.store.unit import Scope, reading

PAGE_MAX = 500

# --- reading one contact ---------------------------------------------------------------------------


_HEAD = "SELECT id, uuid, name, language, status, created_on, modified_on, last_seen_on, version FROM contact"


def view(s: Session, contact: Contact) -> ContactView:
    assert contact.id is not None  # a stored row
    return _view(s, (contact.id, contact.uuid, contact.name, contact.language, contact.status, contact.created_on,
                     contact.modified_on, contact.last_seen_on, contact.version))


def _view(s: Session, head: Sequence[Any]) -> ContactView:
    """The view of a contact row (the columns of ``_HEAD``): its connections, groups and fields read
    in three indexed queries straight through the driver."""
    s.flush()  # the ORM's pending writes first: these reads go around it
    cid, uuid, name, language, status, created, modified, last_seen, version = head
    return ContactView(
        id=cid, uuid=uuid, name=name, language=language, status=status, created_on=read_time(created),
        modified_on=read_time(modified), last_seen_on=read_time(last_seen), version=version,
        connections=_connections(s, cid), groups=_groups(s, cid), fields=_fields(s, cid))


def _connections(s: Session, contact_id: int) -> tuple[ConnectionView, ...]:
    return tuple(ConnectionView(i, identity, display, priority, affinity, read_time(since), message)
                 for i, identity, display, priority, affinity, since, message in run(
                     s, "SELECT id, identity, display, priority, affinity_channel_id, affinity_since, "
                        "affinity_message_id FROM connection WHERE contact_id = ? ORDER BY priority DESC, id",
                     (contact_id,)))


def _groups(s: Session, contact_id: int) -> tuple[str, ...]:
    return tuple(run(s, "SELECT g.name FROM contact_group g JOIN group_membership m ON m.group_id = g.id "
                        "WHERE m.contact_id = ? ORDER BY g.name", (contact_id,)).scalars())


def _fields(s: Session, contact_id: int) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in run(s, "SELECT f.\"key\", v.value FROM field_def f JOIN field_value v "
                                           "ON v.field_id = f.id WHERE v.contact_id = ? ORDER BY f.\"key\"",
                                        (contact_id,)))


def reread(s: Session, before: ContactView, attributes: dict[str, Any], *, connections: bool = False,
           groups: bool = False, fields: bool = False) -> ContactView:
    """``before`` as this transaction's writes left it: ``attributes`` (name, status, language) as
    written, and only the parts that were written (``connections``, ``groups``, ``fields``) read again."""
    s.flush()  # the ORM's pending writes first: these reads go around it
    cid = before.id
    return dataclasses.replace(
        before, **attributes,
        connections=_connections(s, cid) if connections else before.connections,
        groups=_groups(s, cid) if groups else before.groups,
        fields=_fields(s, cid) if fields else before.fields)


def fetch(s: Session, scope: Scope, ref: str | int) -> ContactView:
    """The view of a live contact by id, UUID or connection (:func:`find`), with no ORM object: the
    common cases (an id, a UUID) in one query; the others through :func:`find`."""
    ws = scope.workspace.id
    if isinstance(ref, int):
        head = run(s, _HEAD + " WHERE id = ? AND workspace_id = ? AND deleted_on IS NULL", (ref, ws)).first()
    else:
        head = run(s, _HEAD + " WHERE uuid = ? AND workspace_id = ? AND deleted_on IS NULL",
                   (str(ref).strip(), ws)).first()
    if head is None:
        return view(s, find(s, scope, ref))  # merged, a connection, or NotFound with its message
    return _view(s, head)


def find(s: Session, scope: Scope, ref: str | int) -> Contact:
    """A live contact by id, uuid or one of its connections (typed as staff would type it)."""
    ws = scope.workspace
    base = select(Contact).where(Contact.workspace_id == ws.id, Contact.deleted_on.is_(None))
    if isinstance(ref, int):
        found = s.execute(base.where(Contact.id == ref)).scalars().first()
        if found:
            return found
        raise NotFound(f"No contact with id {ref}.")
    text = str(ref).strip()
    found = s.execute(base.where(Contact.uuid == text)).scalars().first()
    if found:
        return found
    survivor = _survivor(s, scope, text)
    if survivor is not None:  # merged (domain.md section 8): its UUID finds the contact it became part of
        return survivor
    if ":" in text:
        try:
            identity = urnlib.clean_text(text, ws.country).identity
        except urnlib.URNError:
            identity = text
        for candidate in dict.fromkeys((identity, text)):  # as cleaned, else as stored (a local number)
            found = s.execute(base.join(Connection, Connection.contact_id == Contact.id)
                              .where(Connection.workspace_id == ws.id, Connection.identity == candidate)
                              ).scalars().first()
            if found:
                return found
    raise NotFound(f"No contact '{text}' (give a UUID or a connection such as tel:+250788383383).")


def _survivor(s: Session, scope: Scope, uuid: str) -> Contact | None:
    """The live contact a merged contact's UUID leads to (following merges of merges)."""
    seen: set[int] = set()
    row = s.execute(select(Contact).where(Contact.workspace_id == scope.workspace.id, Contact.uuid == uuid,
                                          Contact.merged_into.is_not(None))).scalars().first()
    while row is not None and row.merged_into is not None and row.id not in seen:
        seen.add(row.id)
        row = s.get(Contact, row.merged_into)
    return row if row is not None and row.deleted_on is None else None


def merged_into(scope: Scope, uuid: str) -> str | None:
    """The UUID of the live contact a merged contact's UUID leads to (None: not a merged contact)."""
    with reading(scope) as s:
        survivor = _survivor(s, scope, uuid.strip())
        return survivor.uuid if survivor is not None else None


def get(scope: Scope, ref: str | int) -> ContactView:
    with reading(scope) as s:
        return view(s, find(s, scope, ref))


def message_texts(scope: Scope, message_ids: Sequence[int]) -> dict[int, tuple[datetime, str]]:
    """``{message id: (when, text)}``."""
    if not message_ids:
        return {}
    with reading(scope) as s:
        return {i: (aware(when), text) for i, when, text in s.execute(
            select(Message.id, Message.created_on, Message.text).where(Message.id.in_(list(message_ids))))}


def field_definitions(scope: Scope) -> list[tuple[str, str]]:
    """The workspace's custom fields: ``(key, name)`` ordered by name, then key."""
    with reading(scope) as s:
        return [(k, n) for k, n in s.execute(select(FieldDef.key, FieldDef.name)
                                             .where(FieldDef.workspace_id == scope.workspace.id)
                                             .order_by(FieldDef.name, FieldDef.key))]


def connection_owners(scope: Scope, identities: Iterable[str]) -> dict[str, tuple[int | None, str]]:
    """Who owns each identity: ``{identity: (contact id or None if detached, contact name)}``."""
    ids = list(identities)
    if not ids:
        return {}
    with reading(scope) as s:
        rows = s.execute(select(Connection.identity, Connection.contact_id, Contact.name)
                         .outerjoin(Contact, Contact.id == Connection.contact_id)
                         .where(Connection.workspace_id == scope.workspace.id,
                                Connection.identity.in_(ids))).all()
        return {i: (c, n or "") for i, c, n in rows}


# --- writing ---------------------------------------------------------------------------------------


def locked_owners(s: Session, scope: Scope, identities: Sequence[str]) -> list[tuple[str, int | None, str, str]]:
    """``(identity, owner id, owner name, owner uuid)`` of the identities that exist, their rows locked
    (PostgreSQL; SQLite holds the write lock already) so the owner cannot change, detached ones too:
    two staff claiming one free number must not both get it (in a fixed order, so two such
    transactions wait for each other instead of deadlocking)."""
    if not identities:
        return []
    return [tuple(r) for r in s.execute(
        select(Connection.identity, Connection.contact_id, Contact.name, Contact.uuid)
        .outerjoin(Contact, Contact.id == Connection.contact_id)
        .where(Connection.workspace_id == scope.workspace.id, Connection.identity.in_(list(identities)))
        .order_by(Connection.identity)
        .with_for_update(of=Connection)).all()]


def insert(s: Session, scope: Scope, *, name: str, language: str | None, status: str, when: datetime) -> Contact:
    contact = Contact(uuid=str(uuidlib.uuid4()), workspace_id=scope.workspace.id, name=name,
                      language=language or None, status=status, created_on=when, modified_on=when)
    s.add(contact)
    s.flush()
    return contact


def write_connections(s: Session, scope: Scope, contact_id: int, wanted: Sequence[urnlib.URN],
                      result: Sequence[CoreConnection]) -> None:
    """Make the stored list equal ``result`` (core Connections) in order; attach or create rows."""
    ws = scope.workspace.id
    displays = {u.identity: u for u in wanted}
    # locked (in a fixed order); a row another contact owns now was taken after the caller checked
    # (PostgreSQL, read committed: a number that did not exist then): retry or refuse, never steal it
    rows = {r.identity: r for r in s.execute(select(Connection).where(
        Connection.workspace_id == ws, Connection.identity.in_([c.identity for c in result]))
        .order_by(Connection.identity).with_for_update()).scalars().all()}
    if any(r.contact_id is not None and r.contact_id != contact_id for r in rows.values()):
        raise RaceLost(RACE_TEXT)
    for index, conn in enumerate(result):
        row = rows.get(conn.identity)
        urn = displays.get(conn.identity) or urnlib.URN(conn.scheme, conn.path, conn.display)
        if row is None:
            row = Connection(workspace_id=ws, scheme=urn.scheme, path=urn.path, identity=urn.identity,
                             display=urn.display)
        if row.contact_id != contact_id:  # new to this contact (maybe re-claimed): no affinity
            row.affinity_channel_id = None
            row.affinity_since = None
            row.affinity_message_id = None
        row.contact_id = contact_id
        row.priority = 1000 - index
        if conn.affinity != row.affinity_channel_id:
            row.affinity_channel_id = conn.affinity
        if urn.display is not None:
            row.display = urn.display
        s.add(row)


def detach(s: Session, scope: Scope, identities: Sequence[str]) -> None:
    """These connections belong to no contact any more (their identities stay, free to claim)."""
    if identities:
        s.execute(update(Connection).where(Connection.workspace_id == scope.workspace.id,
                                           Connection.identity.in_(list(identities)))
                  .values(contact_id=None, affinity_channel_id=None, affinity_since=None, affinity_message_id=None))


def set_affinity_origin(s: Session, scope: Scope, identity: str, when: datetime, message_id: int) -> None:
    s.execute(update(Connection).where(Connection.workspace_id == scope.workspace.id,
                                       Connection.identity == identity)
              .values(affinity_since=when, affinity_message_id=message_id))


def connection_id(s: Session, scope: Scope, identity: str) -> int:
    return s.execute(select(Connection.id).where(Connection.workspace_id == scope.workspace.id,
                                                 Connection.identity == identity)).scalars().one()


def owner_of(s: Session, scope: Scope, identity: str) -> Contact | None:
    """The live contact that owns ``identity`` (its connection row locked), if any."""
    row = s.execute(select(Connection).where(Connection.workspace_id == scope.workspace.id,
                                             Connection.identity == identity).with_for_update()).scalars().first()
    if row is None or row.contact_id is None:
        return None
    return s.get(Contact, row.contact_id)


def add_message(s: Session, scope: Scope, *, contact_id: int, channel_id: int, text: str, when: datetime,
                direction: str = "in") -> Message:
    message = Message(workspace_id=scope.workspace.id, contact_id=contact_id, channel_id=channel_id,
                      direction=direction, text=text, created_on=when)
    s.add(message)
    s.flush()
    return message


def set_groups(s: Session, scope: Scope, contact_id: int, names: Sequence[str],
               current: Sequence[str] | None = None) -> bool:
    """The contact's groups become ``names`` (unknown ones are created); nothing is written when they
    are the ``current`` ones already. Whether anything was written."""
    wanted: list[str] = []
    for name in names:
        name = name.strip()
        if name and name not in wanted:
            wanted.append(name)
    if current is not None and set(wanted) == set(current):
        return False
    s.execute(delete(GroupMembership).where(GroupMembership.contact_id == contact_id))
    for name in wanted:
        group = s.execute(select(ContactGroup).where(ContactGroup.workspace_id == scope.workspace.id,
                                                     ContactGroup.name == name)).scalars().first()
        if group is None:
            group = ContactGroup(workspace_id=scope.workspace.id, name=name)
            s.add(group)
            s.flush()
        assert group.id is not None  # stored (flushed)
        s.add(GroupMembership(contact_id=contact_id, group_id=group.id))
    return True


def set_fields(s: Session, scope: Scope, contact_id: int, values: dict[str, tuple[str, str | None]],
               current: dict[str, str] | None = None) -> bool:
    """Set (or, with None, clear) custom field values: ``{key: (label, value)}``; unknown fields are
    created with the label. A value equal to its ``current`` one (the contact's values, when given)
    is not written again. Whether anything was written."""
    if current is not None:
        values = {k: v for k, v in values.items() if current.get(k) != v[1]}
    if not values:
        return False
    s.flush()  # the ORM's pending writes first: these statements go around it
    ws = scope.workspace.id
    test, params = marks(s.connection(), list(values))
    known = dict(run(s, f"SELECT \"key\", id FROM field_def WHERE workspace_id = ? AND \"key\" {test}",
                     (ws, *params)).all())
    for key, (label, value) in values.items():
        field_id = known.get(key)
        if field_id is None:
            if value is None:
                continue
            fdef = FieldDef(workspace_id=ws, key=key, name=label)
            s.add(fdef)
            s.flush()
            field_id = fdef.id
        run(s, "DELETE FROM field_value WHERE contact_id = ? AND field_id = ?", (contact_id, field_id))
        if value is not None:
            run(s, "INSERT INTO field_value (contact_id, field_id, value) VALUES (?, ?, ?)",
                (contact_id, field_id, value))
    return True


def set_attributes(s: Session, contact_id: int, values: dict[str, Any]) -> None:
    """Write these columns of the contact (``name``, ``status``, ``language``), in one statement."""
    columns = [c for c in ("name", "status", "language") if c in values]
    if not columns:
        return
    s.flush()
    run(s, f"UPDATE contact SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
        (*(values[c] for c in columns), contact_id))
    _expire(s, contact_id)


def _expire(s: Session, contact_id: int) -> None:
    """A write that went around the ORM: its object of this contact, if this session holds one, is
    read again when next used."""
    held = s.identity_map.get(identity_key(Contact, contact_id))
    if held is not None:
        s.expire(held)


def bump_version(s: Session, contact_id: int, expected: int, when: datetime) -> bool:
    """Version + 1 if it still is ``expected`` (False: someone else saved meanwhile)."""
    s.flush()  # the ORM's pending writes first: this statement goes around it
    bumped = run(s, "UPDATE contact SET version = version + 1, modified_on = ? WHERE id = ? AND version = ?",
                 (stamp(s.connection(), when), contact_id, expected))
    _expire(s, contact_id)
    return bumped.rowcount == 1


def mark_deleted(s: Session, contact: Contact, when: datetime) -> None:
    s.execute(update(Connection).where(Connection.contact_id == contact.id).values(
        contact_id=None, affinity_channel_id=None, affinity_since=None, affinity_message_id=None))
    s.execute(delete(GroupMembership).where(GroupMembership.contact_id == contact.id))
    contact.deleted_on = when
    contact.modified_on = when  # API clients syncing by modified_on see the deletion
    contact.version += 1
    s.add(contact)


# --- the contacts table ----------------------------------------------------------------------------


# a problem this many contacts have is common: a page of the table filtered to it walks the contacts
# in the table's order (store.query_sql.compile_query); below it, reading the problem's list and sorting
# it takes at most about 30 ms at 1M, and walking depends on where in the order the matches are
COMMON_PROBLEM = 20_000


def filter_clause(scope: Scope, text: str | None, paged: Session | None = None) -> Any:
    """The contacts matching the query ``text`` (core.query; QueryError when it is bad); ``paged``:
    the session of a page in the table's order (it asks which problems are common)."""
    from ccconsole.store import problems as problem_rows
    from ccconsole.store.query_sql import filter_clause as compile_filter

    ws = scope.workspace
    common = None
    if paged is not None:
        def common(problem: str) -> bool:
            return problem_rows.at_least(paged, ws.id, problem, COMMON_PROBLEM)
    return compile_filter(text, ws.id, scope.dialect, ws.country, common)


def base(scope: Scope, text: str | None, paged: Session | None = None) -> Any:
    """SELECT the live contacts matching ``text`` (id, uuid, name, status, last seen)."""
    q = select(*(getattr(Contact, c) for c in tablerows.CONTACT_COLUMNS)).where(
        Contact.workspace_id == scope.workspace.id, Contact.deleted_on.is_(None))
    clause = filter_clause(scope, text, paged)
    return q.where(clause) if clause is not None else q


def page(scope: Scope, *, after: tuple[str, int] | None = None, before: tuple[str, int] | None = None,
         limit: int = 50, text: str | None = None, last: bool = False) -> list[ContactRow]:
    """A page of the contacts table in (name, id) order, by key: rows after ``after``, rows before
    ``before`` or the last page (``last``). Each row carries its priority connection and route."""
    limit = max(1, min(limit, PAGE_MAX))
    with reading(scope) as s:
        return _page(s, scope, base(scope, text, paged=s), after, before, limit, last)


def _page(s: Session, scope: Scope, q: Any, after: tuple[str, int] | None, before: tuple[str, int] | None,
          limit: int, last: bool) -> list[ContactRow]:
    forward = tuple(getattr(Contact, c) for c in tablerows.CONTACT_ORDER)  # (name, id), as store.startup
    key = tuple_(*forward)
    backward = tuple(c.desc() for c in forward)
    if after is not None:
        q, order = q.where(key > tuple_(*after)), forward
    elif before is not None:
        q, order = q.where(key < tuple_(*before)), backward
    else:
        order = backward if last else forward
    # pick the page's ids first, from indexes only (a case-insensitive name search sorts its
    # matches by (name, id) inside a covering index: migration 0002), then read those rows
    ids = q.with_only_columns(Contact.id).order_by(*order).limit(limit)
    q = select(*q.selected_columns).where(Contact.id.in_(ids)).order_by(*order)
    rows = s.execute(q).all()
    if before is not None or last:
        rows = list(reversed(rows))
    return _rows(s, scope, rows)


def rows_for(scope: Scope, contact_ids: Sequence[int]) -> list[ContactRow]:
    """Fresh table rows for these contacts (a refresh of what is on screen)."""
    if not contact_ids:
        return []
    with reading(scope) as s:
        rows = s.execute(base(scope, None).where(Contact.id.in_(list(contact_ids)))
                         .order_by(Contact.name, Contact.id)).all()
        return _rows(s, scope, rows)


def _rows(s: Session, scope: Scope, rows: Sequence[Any]) -> list[ContactRow]:
    ids = [r[0] for r in rows]
    conns = s.execute(select(*(getattr(Connection, c) for c in tablerows.CONNECTION_COLUMNS))
                      .where(Connection.contact_id.in_(ids))
                      .order_by(Connection.contact_id, Connection.priority.desc(), Connection.id)).all() if ids else []
    return tablerows.contact_rows(rows, conns, channel_rows.rows(s, scope.workspace.id))


def count(scope: Scope, text: str | None = None) -> int:
    with reading(scope) as s:
        return s.execute(base(scope, text).with_only_columns(func.count())).scalar_one()


def position(scope: Scope, key: tuple[str, int], text: str | None = None) -> int:
    """How many contacts sort before ``key`` (the row number of a contact in the table)."""
    q = base(scope, text).where(tuple_(Contact.name, Contact.id) < tuple_(*key)).with_only_columns(func.count())
    with reading(scope) as s:
        return s.execute(q).scalar_one()
