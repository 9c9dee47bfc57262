"""What the Contacts API needs of the database beyond the console's reads and writes: tokens (their
hashes), throttle counters, groups and fields with their UUIDs, and contacts read newest-modified
first, by key (index ``ix_contact_ws_modified_id``, migration 0005)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, exists, func, literal, select, tuple_, update
from sqlmodel import Session

from ccconsole.core.views import ApiContact, ApiField, ApiGroup, ApiToken, ConnectionView
from ccconsole.store.channels import aware
from ccconsole.store.db import WRITE_OPTION, read_time, run, select_in
from ccconsole.store.models import ApiToken as TokenRow
from ccconsole.store.models import (
    Connection,
    Contact,
    ContactGroup,
    FieldDef,
    GroupMembership,
)
from ccconsole.store.unit import Scope, reading, translating

# --- tokens ----------------------------------------------------------------------------------------


def _token(row: TokenRow) -> ApiToken:
    return ApiToken(row.name, aware(row.created_on), aware(row.revoked_on))


def live_token(s: Session, scope: Scope, name: str) -> TokenRow | None:
    return s.execute(select(TokenRow).where(TokenRow.workspace_id == scope.workspace.id, TokenRow.name == name,
                                            TokenRow.revoked_on.is_(None))).scalars().first()


def insert_token(s: Session, scope: Scope, name: str, key_hash: str, when: datetime) -> ApiToken:
    row = TokenRow(workspace_id=scope.workspace.id, name=name, key_hash=key_hash, created_on=when)
    s.add(row)
    s.flush()
    return _token(row)


def revoke_token(s: Session, row: TokenRow, when: datetime) -> ApiToken:
    row.revoked_on = when
    s.add(row)
    s.flush()
    return _token(row)


def tokens(scope: Scope) -> list[ApiToken]:
    with reading(scope) as s:
        return [_token(r) for r in s.execute(select(TokenRow).where(TokenRow.workspace_id == scope.workspace.id)
                                             .order_by(TokenRow.name, TokenRow.id)).scalars()]


def token_user(scope: Scope, key_hash: str) -> str | None:
    """The user name of the live token with this hash (one indexed lookup, asked on every request)."""
    with translating(), scope.engine.connect() as conn:
        return run(conn, "SELECT name FROM api_token WHERE key_hash = ? AND workspace_id = ? AND revoked_on IS NULL",
                   (key_hash, scope.workspace.id)).scalar()


# --- throttle --------------------------------------------------------------------------------------


def count_hit(scope: Scope, name: str, window: int) -> int:
    """Count one request in the window starting at ``window`` (epoch seconds); the count so far.

    One statement (an upsert), in its own short transaction: counters are no data change, so they
    skip the write epilogue (no audit row, no change signal that would wake every console)."""
    ws = scope.workspace.id
    with translating(), scope.engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        hits = run(conn, "INSERT INTO api_throttle (workspace_id, scope, \"window\", hits) VALUES (?, ?, ?, 1) "
                         "ON CONFLICT (workspace_id, scope, \"window\") DO UPDATE SET hits = api_throttle.hits + 1 "
                         "RETURNING hits", (ws, name, window)).scalar_one()
        if hits == 1:  # a new window: forget the old ones
            run(conn, "DELETE FROM api_throttle WHERE workspace_id = ? AND scope = ? AND \"window\" < ?",
                (ws, name, window))
        return int(hits)


# --- groups and fields -----------------------------------------------------------------------------


def groups(scope: Scope, *, uuid: str | None = None, name: str | None = None,
           counts: bool = True) -> list[ApiGroup]:
    """The workspace's groups (by UUID, by name in any case), with their live members counted per
    group (the membership index) unless ``counts`` is False (then -1)."""
    if counts:
        members = (select(func.count()).select_from(GroupMembership)
                   .join(Contact, Contact.id == GroupMembership.contact_id)
                   .where(GroupMembership.group_id == ContactGroup.id, Contact.deleted_on.is_(None))
                   .correlate(ContactGroup).scalar_subquery())
    q = select(ContactGroup.id, ContactGroup.uuid, ContactGroup.name,
               members if counts else literal(-1)).where(ContactGroup.workspace_id == scope.workspace.id)
    if uuid is not None:
        q = q.where(ContactGroup.uuid == uuid)
    if name is not None:
        q = q.where(func.lower(ContactGroup.name) == name.lower())
    with reading(scope) as s:
        return [ApiGroup(i, u or "", n, c) for i, u, n, c in s.execute(q.order_by(ContactGroup.name))]


def find_group(s: Session, scope: Scope, ref: str) -> ContactGroup | None:
    """A group by UUID, else by name (any case)."""
    base = select(ContactGroup).where(ContactGroup.workspace_id == scope.workspace.id)
    return (s.execute(base.where(ContactGroup.uuid == ref)).scalars().first()
            or s.execute(base.where(func.lower(ContactGroup.name) == ref.strip().lower())).scalars().first())


def insert_group(s: Session, scope: Scope, name: str) -> ApiGroup:
    row = ContactGroup(workspace_id=scope.workspace.id, name=name)
    s.add(row)
    s.flush()
    assert row.id is not None
    return ApiGroup(row.id, row.uuid, row.name, 0)


def delete_group(s: Session, row: ContactGroup) -> list[int]:
    """Remove the group and its memberships; the members' ids."""
    members = list(s.execute(select(GroupMembership.contact_id).where(GroupMembership.group_id == row.id)).scalars())
    s.execute(delete(GroupMembership).where(GroupMembership.group_id == row.id))
    s.delete(row)
    s.flush()
    return members


def fields(scope: Scope, key: str | None = None) -> list[ApiField]:
    q = select(FieldDef).where(FieldDef.workspace_id == scope.workspace.id)
    if key is not None:
        q = q.where(FieldDef.key == key)
    with reading(scope) as s:
        return [ApiField(r.uuid or "", r.key, r.name, r.value_type)
                for r in s.execute(q.order_by(FieldDef.key)).scalars()]


def field_keys(scope: Scope) -> list[str]:
    """The workspace's field keys in order (read for every contact the API writes or shows)."""
    with translating(), scope.engine.connect() as conn:
        return list(run(conn, "SELECT \"key\" FROM field_def WHERE workspace_id = ? ORDER BY \"key\"",
                        (scope.workspace.id,)).scalars())


def find_field(s: Session, scope: Scope, key: str) -> FieldDef | None:
    return s.execute(select(FieldDef).where(FieldDef.workspace_id == scope.workspace.id,
                                            FieldDef.key == key)).scalars().first()


def insert_field(s: Session, scope: Scope, key: str, name: str, value_type: str) -> ApiField:
    row = FieldDef(workspace_id=scope.workspace.id, key=key, name=name, value_type=value_type)
    s.add(row)
    s.flush()
    return ApiField(row.uuid, row.key, row.name, row.value_type)


# --- contacts, newest modified first ---------------------------------------------------------------


def contact_page(scope: Scope, *, limit: int, key: tuple[datetime, int] | None = None, ascending: bool = False,
                 deleted: bool = False, uuid: str | None = None, identity: str | None = None,
                 group_id: int | None = None, since: datetime | None = None,
                 until: datetime | None = None) -> list[ApiContact]:
    """Up to ``limit`` contacts in (modified_on, id) order (descending unless ``ascending``), strictly
    after ``key`` in that order; filters as the API's. Reads the index from the key on."""
    ws = scope.workspace.id
    q = select(Contact.id).where(Contact.workspace_id == ws,
                                 Contact.deleted_on.is_not(None) if deleted else Contact.deleted_on.is_(None))
    if uuid is not None:
        q = q.where(Contact.uuid == uuid)
    if identity is not None:
        q = q.where(Contact.id.in_(select(Connection.contact_id).where(Connection.workspace_id == ws,
                                                                      Connection.identity == identity)))
    if group_id is not None:
        # probed per contact as the index is walked in order (IN would first read the whole group)
        q = q.where(exists().where(GroupMembership.contact_id == Contact.id, GroupMembership.group_id == group_id))
    if since is not None:
        q = q.where(Contact.modified_on >= since)
    if until is not None:
        q = q.where(Contact.modified_on <= until)
    if key is not None:
        row_key = tuple_(Contact.modified_on, Contact.id)
        # typed as the column, so the datetime is stored-format on every backend
        at = tuple_(bindparam("key_modified", key[0], type_=Contact.__table__.c.modified_on.type), key[1])
        q = q.where(row_key > at if ascending else row_key < at)
    order = (Contact.modified_on, Contact.id) if ascending else (Contact.modified_on.desc(), Contact.id.desc())
    with reading(scope) as s:
        ids = list(s.execute(q.order_by(*order).limit(limit)).scalars())
        return records(s, ids)


def records(s: Session, ids: Sequence[int]) -> list[ApiContact]:
    """The API's view of these contacts, in this order: four queries for the whole page, straight
    through the driver (Core's per-value processing cost more than the queries for a page of 250)."""
    if not ids:
        return []
    id_list = list(ids)
    s.flush()  # a write transaction's pending ORM writes first: these reads go around it
    conn = s.connection()
    contacts = {r[0]: r for r in select_in(
        conn, "SELECT id, uuid, name, language, status, created_on, modified_on, last_seen_on, deleted_on "
              "FROM contact WHERE id {in}", id_list)}
    conns: dict[int, list[ConnectionView]] = {i: [] for i in id_list}
    for row in select_in(conn, "SELECT contact_id, id, identity, display, priority, affinity_channel_id, "
                               "affinity_since, affinity_message_id FROM connection WHERE contact_id {in} "
                               "ORDER BY contact_id, priority DESC, id", id_list):
        conns[row[0]].append(ConnectionView(row[1], row[2], row[3], row[4], row[5], read_time(row[6]), row[7]))
    groups_of: dict[int, list[tuple[str, str]]] = {i: [] for i in id_list}
    for cid, guuid, gname in select_in(
            conn, "SELECT m.contact_id, g.uuid, g.name FROM group_membership m JOIN contact_group g "
                  "ON g.id = m.group_id WHERE m.contact_id {in} ORDER BY g.name", id_list):
        groups_of[cid].append((guuid or "", gname))
    values: dict[int, list[tuple[str, str]]] = {i: [] for i in id_list}
    for cid, key, value in select_in(
            conn, "SELECT v.contact_id, f.key, v.value FROM field_value v JOIN field_def f ON f.id = v.field_id "
                  "WHERE v.contact_id {in} ORDER BY f.\"key\"", id_list):
        values[cid].append((key, value))
    result = []
    for i in id_list:
        _, uuid, name, language, status, created, modified, last_seen, deleted_on = contacts[i]
        # a contact merged into another (domain.md section 8) is deleted too: listed as deleted
        deleted = deleted_on is not None
        result.append(ApiContact(
            id=i, uuid=uuid, name=name, language=language, status=status, created_on=read_time(created) or created,
            modified_on=read_time(modified) or modified, last_seen_on=read_time(last_seen), deleted=deleted,
            connections=tuple(conns[i]), groups=tuple(groups_of[i]), fields=tuple(values[i])))
    return result


def records_by_id(scope: Scope, ids: Sequence[int]) -> list[ApiContact]:
    with reading(scope) as s:
        return records(s, ids)


def touch(s: Session, contact_ids: Sequence[int], when: datetime) -> None:
    """The contacts changed (their modified time moves, their version too)."""
    if contact_ids:
        s.execute(update(Contact).where(Contact.id.in_(list(contact_ids)))
                  .values(version=Contact.version + 1, modified_on=when))
