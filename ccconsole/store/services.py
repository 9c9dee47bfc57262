"""The store's services: one unit of work (one transaction) each, plain frozen results.

Every rule is the core's: the store loads rows, calls ``ccconsole.core`` and writes the outcome,
with an audit event and a bump of the workspace's change sequence in the same transaction.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import uuid as uuidlib
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterable, Iterator, Sequence

import phonenumbers
from sqlalchemy import Engine, and_, delete, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from ccconsole.core import lists
from ccconsole.core import urns as urnlib
from ccconsole.core.importing import field_key
from ccconsole.core.lockin import contact_urn, lock_in, urns_by_scheme
from ccconsole.core.model import RECEIVE, SEND, Status
from ccconsole.core.model import Channel as CoreChannel
from ccconsole.core.model import Connection as CoreConnection
from ccconsole.core.model import Contact as CoreContact
from ccconsole.core.routing import Channels, route
from ccconsole.store import db, live
from ccconsole.store.errors import Conflict, NotFound, RaceLost, StoreError, ValidationFailed
from ccconsole.store.models import (
    AuditEvent,
    Channel,
    Connection,
    Contact,
    ContactGroup,
    FieldDef,
    FieldValue,
    GroupMembership,
    Message,
    Workspace,
)
from ccconsole.store.views import (
    ConnectionView,
    ContactRow,
    ContactView,
    InboundResult,
    RouteView,
    WorkspaceInfo,
)

MAX_NAME = 128
PAGE_MAX = 500


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def default_actor() -> str:
    return os.environ.get("SUDO_USER") or os.environ.get("USER") or getpass.getuser() or "unknown"


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def channel_core(row: Channel) -> CoreChannel:
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
        created_on=_aware(row.created_on),
        uuid=row.uuid,
    )


class Store:
    """The services for one workspace of one database."""

    def __init__(self, engine: Engine, workspace: WorkspaceInfo, actor: str | None = None,
                 read_only: bool = False):
        self.engine = engine
        self.workspace = workspace
        self.actor = actor or default_actor()
        self.read_only = read_only

    # --- opening ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str, *, actor: str | None = None, read_only: bool = False,
             workspace_name: str = "Workspace", country: str | None = None) -> "Store":
        """Open (and upgrade) the database at ``url``; create its workspace when there is none."""
        engine = db.make_engine(url, read_only=read_only)
        if not read_only:
            db.upgrade(engine)
            from ccconsole.store.query_sql import ensure_statistics

            ensure_statistics(engine)
        try:
            with Session(engine) as s:
                ws = s.execute(select(Workspace).order_by(Workspace.id).limit(1)).scalars().first()
                if ws is None:
                    if read_only:
                        raise StoreError("The database has no workspace yet (read-only: nothing created).")
                    ws = Workspace(name=workspace_name, country=country.upper() if country else None)
                    s.add(ws)
                    s.commit()
                    s.refresh(ws)
                info = WorkspaceInfo(ws.id, ws.name, ws.country, ws.timezone)
        except OperationalError as err:
            raise StoreError(f"Cannot open the database: {db.describe(err)}") from err
        return cls(engine, info, actor, read_only)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """A write transaction; bumps the change sequence so watchers notice."""
        if self.read_only:
            raise StoreError("The console is read-only: nothing can be changed.")
        with Session(self.engine.execution_options(**{db.WRITE_OPTION: True})) as s:
            try:
                yield s
                s.execute(update(Workspace).where(Workspace.id == self.workspace.id)
                          .values(change_seq=Workspace.change_seq + 1))
                live.notify(s, self.workspace.id)  # PostgreSQL: listeners hear it when this commits
                s.commit()
            except IntegrityError as err:
                s.rollback()
                raise RaceLost("Another change took the same connection at the same moment; "
                               "nothing was saved. Try again.") from err
            except OperationalError as err:
                s.rollback()
                if db.is_race(err):  # PostgreSQL deadlock / serialization failure: same as a lost race
                    raise RaceLost("Another change to the same contact happened at the same moment; "
                                   "nothing was saved. Try again.") from err
                raise StoreError(db.describe_failure(err)) from err
            except BaseException:
                s.rollback()
                raise

    def _audit(self, s: Session, action: str, *, contact_id: int | None = None,
               channel_id: int | None = None, before=None, after=None) -> None:
        s.add(AuditEvent(
            workspace_id=self.workspace.id, actor=self.actor, action=action, contact_id=contact_id,
            channel_id=channel_id,
            before=json.dumps(before, default=str) if before is not None else None,
            after=json.dumps(after, default=str) if after is not None else None,
        ))

    def update_workspace(self, *, name: str | None = None, country: str | None = None,
                         timezone_name: str | None = None) -> WorkspaceInfo:
        """Rename the workspace or set its default country (used to normalize phone numbers)."""
        errors = {}
        if name is not None and not name.strip():
            errors["name"] = "The workspace needs a name."
        if country is not None and country and (len(country) != 2 or not country.isalpha()
                                                or phonenumbers.country_code_for_region(country.upper()) == 0):
            errors["country"] = f"Unknown country '{country}': use a two-letter ISO code such as RW."
        if timezone_name is not None:
            from zoneinfo import ZoneInfo

            try:
                ZoneInfo(timezone_name)
            except Exception:
                errors["timezone"] = f"Unknown time zone '{timezone_name}', e.g. Africa/Kigali."
        if errors:
            raise ValidationFailed(errors)
        with self._tx() as s:
            ws = s.get(Workspace, self.workspace.id)
            before = {"name": ws.name, "country": ws.country, "timezone": ws.timezone}
            if name is not None:
                ws.name = name.strip()
            if country is not None:
                ws.country = country.upper() or None
            if timezone_name is not None:
                ws.timezone = timezone_name
            s.add(ws)
            self._audit(s, "workspace.update", before=before,
                        after={"name": ws.name, "country": ws.country, "timezone": ws.timezone})
            info = WorkspaceInfo(ws.id, ws.name, ws.country, ws.timezone)
        self.workspace = info  # only once committed
        return info

    def change_seq(self) -> int:
        with self.engine.connect() as c:
            return c.execute(select(Workspace.change_seq).where(Workspace.id == self.workspace.id)).scalar_one()

    # --- channels --------------------------------------------------------------------------------

    def channels(self) -> list[CoreChannel]:
        """The workspace's channels, oldest first (the order the resolver expects)."""
        with Session(self.engine) as s:
            return self._channel_rows(s)

    def find_channel(self, ref: str) -> CoreChannel:
        """A channel by uuid, id or name (case-insensitive)."""
        ref = ref.strip()
        for ch in self.channels():
            if ref in (ch.uuid, str(ch.id)) or ref.lower() == ch.name.lower():
                return ch
        raise NotFound(f"No channel '{ref}'.")

    def add_channel(self, name: str, type: str, schemes: Sequence[str], *, address: str = "",
                    roles: Sequence[str] = (SEND, RECEIVE), country: str | None = None,
                    match_prefixes: Sequence[str] = (), allow_international: bool = False,
                    created_on: datetime | None = None) -> CoreChannel:
        name = name.strip()
        schemes = [s.strip().lower() for s in schemes if s.strip()]
        errors = {}
        if not name:
            errors["name"] = "A channel needs a name."
        if not schemes:
            errors["schemes"] = "A channel serves at least one connection type."
        for scheme in schemes:
            if scheme not in urnlib.SCHEMES:
                errors["schemes"] = f"Unknown connection type '{scheme}'."
        bad_roles = set(roles) - {SEND, RECEIVE}
        if bad_roles:
            errors["roles"] = f"Unknown role(s): {', '.join(sorted(bad_roles))} (send, receive)."
        if country and (len(country) != 2 or not country.isalpha()):
            errors["country"] = "Country must be a two-letter ISO code, e.g. RW."
        if country and "tel" not in schemes:
            errors["country"] = "Only phone channels have a country."
        if any(not p.lstrip("+").isdigit() for p in match_prefixes):
            errors["match_prefixes"] = "Prefixes are digits, e.g. 25078."
        if errors:
            raise ValidationFailed(errors)
        with self._tx() as s:
            if s.execute(select(Channel.id).where(Channel.workspace_id == self.workspace.id,
                                                 func.lower(Channel.name) == name.lower())).first():
                raise ValidationFailed({"name": f"A channel named '{name}' exists already."})
            row = Channel(uuid=str(uuidlib.uuid4()), workspace_id=self.workspace.id, name=name, type=type,
                          address=address.strip(), schemes=",".join(schemes), roles=",".join(roles),
                          country=country.upper() if country else None,
                          match_prefixes=",".join(p.lstrip("+") for p in match_prefixes),
                          allow_international=allow_international, created_on=created_on or utcnow())
            s.add(row)
            s.flush()
            self._audit(s, "channel.add", channel_id=row.id, after={"name": name, "type": type,
                                                                       "schemes": schemes})
            result = channel_core(row)
        return result

    def set_channel_active(self, ref: str, active: bool) -> CoreChannel:
        ch = self.find_channel(ref)
        with self._tx() as s:
            row = s.get(Channel, ch.id)
            if row.active != active:
                row.active = active
                s.add(row)
                self._audit(s, "channel.enable" if active else "channel.disable", channel_id=row.id,
                            before={"active": not active}, after={"active": active})
            s.flush()
            result = channel_core(row)
        return result

    # --- reading contacts ------------------------------------------------------------------------

    def _view(self, s: Session, contact: Contact) -> ContactView:
        conns = s.execute(select(Connection).where(Connection.contact_id == contact.id)
                       .order_by(Connection.priority.desc(), Connection.id)).scalars().all()
        groups = s.execute(select(ContactGroup.name).join(GroupMembership, GroupMembership.group_id == ContactGroup.id)
                        .where(GroupMembership.contact_id == contact.id).order_by(ContactGroup.name)).scalars().all()
        fields = s.execute(select(FieldDef.key, FieldValue.value).join(FieldValue, FieldValue.field_id == FieldDef.id)
                        .where(FieldValue.contact_id == contact.id).order_by(FieldDef.key)).all()
        return ContactView(
            id=contact.id, uuid=contact.uuid, name=contact.name, language=contact.language,
            status=contact.status, created_on=_aware(contact.created_on),
            modified_on=_aware(contact.modified_on), last_seen_on=_aware(contact.last_seen_on),
            version=contact.version,
            connections=tuple(ConnectionView(c.id, c.identity, c.display, c.priority, c.affinity_channel_id,
                                             _aware(c.affinity_since), c.affinity_message_id) for c in conns),
            groups=tuple(groups), fields=tuple((k, v) for k, v in fields),
        )

    def _find_contact(self, s: Session, ref: str | int) -> Contact:
        """A live contact by id, uuid or one of its connections (typed as staff would type it)."""
        base = select(Contact).where(Contact.workspace_id == self.workspace.id, Contact.deleted_on.is_(None))
        if isinstance(ref, int):
            found = s.execute(base.where(Contact.id == ref)).scalars().first()
            if found:
                return found
            raise NotFound(f"No contact with id {ref}.")
        text = str(ref).strip()
        found = s.execute(base.where(Contact.uuid == text)).scalars().first()
        if found:
            return found
        if ":" in text:
            try:
                identity = urnlib.clean_text(text, self.workspace.country).identity
            except urnlib.URNError:
                identity = text
            found = s.execute(base.join(Connection, Connection.contact_id == Contact.id)
                           .where(Connection.workspace_id == self.workspace.id,
                                  Connection.identity == identity)).scalars().first()
            if found:
                return found
        raise NotFound(f"No contact '{text}' (give a UUID or a connection such as tel:+250788383383).")

    def get_contact(self, ref: str | int) -> ContactView:
        with Session(self.engine) as s:
            return self._view(s, self._find_contact(s, ref))

    def route_contact(self, ref: str | int, contact: ContactView | None = None) -> RouteView:
        """The resolver's decision for a contact, with lock-in and the expression values."""
        view = contact or self.get_contact(ref)
        channels = Channels(self.channels())
        core = view.core
        message_ids = [c.affinity_message_id for c in view.connections if c.affinity_message_id]
        messages = {}
        if message_ids:
            with Session(self.engine) as s:
                messages = {i: (_aware(when), text) for i, when, text in s.execute(
                    select(Message.id, Message.created_on, Message.text).where(Message.id.in_(message_ids)))}
        return RouteView(view, route(core, channels), lock_in(core, channels), contact_urn(core, channels),
                         urns_by_scheme(core), {c.id: c.name for c in channels.all}, messages)

    def affinity_counts(self) -> dict[tuple[int, str], int]:
        """How many contacts' *priority* connection has affinity to each channel, by connection type:
        ``{(channel id, scheme): contacts}`` (core.lockin.affinity_kind says what each amounts to)."""
        first = select(Connection.contact_id, func.max(Connection.priority).label("top")).where(
            Connection.workspace_id == self.workspace.id, Connection.contact_id.is_not(None)
        ).group_by(Connection.contact_id).subquery()
        q = (select(Connection.affinity_channel_id, Connection.scheme, func.count())
             .join(first, and_(first.c.contact_id == Connection.contact_id, first.c.top == Connection.priority))
             .join(Contact, Contact.id == Connection.contact_id)
             .where(Connection.affinity_channel_id.is_not(None), Contact.deleted_on.is_(None))
             .group_by(Connection.affinity_channel_id, Connection.scheme))
        with self.engine.connect() as c:
            return {(cid, scheme): n for cid, scheme, n in c.execute(q)}

    def connection_owners(self, identities: Iterable[str]) -> dict[str, tuple[int | None, str]]:
        """Who owns each identity: ``{identity: (contact id or None if detached, contact name)}``."""
        ids = list(identities)
        if not ids:
            return {}
        with Session(self.engine) as s:
            rows = s.execute(select(Connection.identity, Connection.contact_id, Contact.name)
                          .outerjoin(Contact, Contact.id == Connection.contact_id)
                          .where(Connection.workspace_id == self.workspace.id,
                                 Connection.identity.in_(ids))).all()
            return {i: (c, n or "") for i, c, n in rows}

    # --- the contacts table ----------------------------------------------------------------------

    def _filter_clause(self, text: str | None):
        """The contacts matching the query ``text`` (core.query; QueryError when it is bad)."""
        from ccconsole.store.query_sql import filter_clause

        return filter_clause(text, self.workspace.id, self.engine.dialect.name, self.workspace.country)

    def _base_contacts(self, text: str | None):
        q = select(Contact.id, Contact.uuid, Contact.name, Contact.status, Contact.last_seen_on).where(
            Contact.workspace_id == self.workspace.id, Contact.deleted_on.is_(None))
        clause = self._filter_clause(text)
        return q.where(clause) if clause is not None else q

    def page(self, *, after: tuple[str, int] | None = None, before: tuple[str, int] | None = None,
             limit: int = 50, text: str | None = None, last: bool = False) -> list[ContactRow]:
        """A page of the contacts table in (name, id) order, by key: rows after ``after``, rows before
        ``before`` or the last page (``last``). Each row carries its priority connection and route."""
        limit = max(1, min(limit, PAGE_MAX))
        q = self._base_contacts(text)
        key = tuple_(Contact.name, Contact.id)
        forward = (Contact.name, Contact.id)
        backward = (Contact.name.desc(), Contact.id.desc())
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
        with Session(self.engine) as s:
            rows = s.execute(q).all()
            if before is not None or last:
                rows = list(reversed(rows))
            return self._rows(s, rows)

    def page_around(self, key: tuple[str, int], *, before: int = 25, after: int = 50,
                    text: str | None = None) -> list[ContactRow]:
        """Rows just before ``key`` and from ``key`` on: a window that keeps a contact in view."""
        head = self.page(before=key, limit=before, text=text) if before else []
        return head + self.page(after=(key[0], key[1] - 1), limit=after, text=text)

    def rows_for(self, contact_ids: Sequence[int]) -> list[ContactRow]:
        """Fresh table rows for these contacts (a refresh of what is on screen)."""
        if not contact_ids:
            return []
        with Session(self.engine) as s:
            rows = s.execute(self._base_contacts(None).where(Contact.id.in_(list(contact_ids)))
                          .order_by(Contact.name, Contact.id)).all()
            return self._rows(s, rows)

    def _rows(self, s: Session, rows) -> list[ContactRow]:
        ids = [r[0] for r in rows]
        conns: dict[int, list] = {i: [] for i in ids}
        if ids:
            for cid, identity, affinity, display in s.execute(
                    select(Connection.contact_id, Connection.identity, Connection.affinity_channel_id,
                           Connection.display)
                    .where(Connection.contact_id.in_(ids))
                    .order_by(Connection.contact_id, Connection.priority.desc(), Connection.id)).all():
                conns[cid].append(CoreConnection(identity, affinity, display))
        channels = Channels(self._channel_rows(s))
        result = []
        for cid, cuuid, name, status, last_seen in rows:
            core = CoreContact(Status(status), tuple(conns[cid]), name, cid)
            result.append(ContactRow(cid, cuuid, name, status, _aware(last_seen),
                                     core.connections[0].identity if core.connections else None,
                                     route(core, channels), lock_in(core, channels)))
        return result

    def _channel_rows(self, s: Session) -> list[CoreChannel]:
        """The workspace's channels, oldest first (the order the resolver expects)."""
        return [channel_core(r) for r in s.execute(select(Channel).where(Channel.workspace_id == self.workspace.id)
                                                 .order_by(Channel.created_on, Channel.id)).scalars().all()]

    def count(self, text: str | None = None) -> int:
        q = self._base_contacts(text).with_only_columns(func.count())
        with self.engine.connect() as c:
            return c.execute(q).scalar_one()

    def position(self, key: tuple[str, int], text: str | None = None) -> int:
        """How many contacts sort before ``key`` (the row number of a contact in the table)."""
        q = self._base_contacts(text).where(tuple_(Contact.name, Contact.id) < tuple_(*key)) \
            .with_only_columns(func.count())
        with self.engine.connect() as c:
            return c.execute(q).scalar_one()

    # --- changing contacts -----------------------------------------------------------------------

    def _clean_urns(self, s: Session, texts: Sequence[str], contact_id: int | None,
                    errors: dict[str, str], existing: set[str]) -> list[urnlib.URN]:
        """Clean typed connections (``scheme:path``); per-field errors; refuse ones owned elsewhere."""
        cleaned: list[urnlib.URN] = []
        seen: dict[str, int] = {}
        for i, text in enumerate(texts):
            try:
                urn = urnlib.clean_text(text, self.workspace.country)
                if urn.identity not in existing and urn.scheme == "tel" and not urnlib.is_e164(urn.path):
                    raise urnlib.URNError(urnlib.INVALID_NEW_PHONE)
            except urnlib.URNError as err:
                errors[f"urns.{i}"] = str(err)
                continue
            if urn.identity in seen:
                errors[f"urns.{i}"] = f"Listed twice (also number {seen[urn.identity] + 1})."
                continue
            seen[urn.identity] = i
            cleaned.append(urn)
        if cleaned:
            # lock the rows (PostgreSQL; SQLite holds the write lock already) so the owner cannot change,
            # detached ones too: two staff claiming one free number must not both get it (in a fixed
            # order, so two such transactions wait for each other instead of deadlocking)
            owners = s.execute(select(Connection.identity, Connection.contact_id, Contact.name, Contact.uuid)
                               .outerjoin(Contact, Contact.id == Connection.contact_id)
                               .where(Connection.workspace_id == self.workspace.id,
                                      Connection.identity.in_([u.identity for u in cleaned]))
                               .order_by(Connection.identity)
                               .with_for_update(of=Connection)).all()
            for identity, owner_id, owner_name, owner_uuid in owners:
                if owner_id is not None and owner_id != contact_id:
                    errors[f"urns.{seen[identity]}"] = (
                        f"In use by another contact: {owner_name or owner_uuid}.")
        return cleaned

    def _write_connections(self, s: Session, contact_id: int, wanted: Sequence[urnlib.URN],
                           result: Sequence) -> None:
        """Make the stored list equal ``result`` (core Connections) in order; attach or create rows."""
        displays = {u.identity: u for u in wanted}
        # locked (in a fixed order); a row another contact owns now was taken after the caller checked
        # (PostgreSQL, read committed: a number that did not exist then): retry or refuse, never steal it
        rows = {r.identity: r for r in s.execute(select(Connection).where(
            Connection.workspace_id == self.workspace.id,
            Connection.identity.in_([c.identity for c in result]))
            .order_by(Connection.identity).with_for_update()).scalars().all()}
        if any(r.contact_id is not None and r.contact_id != contact_id for r in rows.values()):
            raise RaceLost("Another change took the same connection at the same moment; nothing was saved. "
                           "Try again.")
        for index, conn in enumerate(result):
            row = rows.get(conn.identity)
            urn = displays.get(conn.identity) or urnlib.URN(conn.scheme, conn.path, conn.display)
            if row is None:
                row = Connection(workspace_id=self.workspace.id, scheme=urn.scheme, path=urn.path,
                                 identity=urn.identity, display=urn.display)
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

    def _groups(self, s: Session, contact_id: int, names: Sequence[str]) -> None:
        wanted = []
        for name in names:
            name = name.strip()
            if name and name not in wanted:
                wanted.append(name)
        s.execute(delete(GroupMembership).where(GroupMembership.contact_id == contact_id))
        for name in wanted:
            group = s.execute(select(ContactGroup).where(ContactGroup.workspace_id == self.workspace.id,
                                                      ContactGroup.name == name)).scalars().first()
            if group is None:
                group = ContactGroup(workspace_id=self.workspace.id, name=name)
                s.add(group)
                s.flush()
            s.add(GroupMembership(contact_id=contact_id, group_id=group.id))

    def set_fields(self, s: Session, contact_id: int, values: dict[str, str | None]) -> None:
        """Set (or, with None, clear) custom field values; unknown fields are created."""
        for name, value in values.items():
            key = field_key(name)
            fdef = s.execute(select(FieldDef).where(FieldDef.workspace_id == self.workspace.id,
                                                 FieldDef.key == key)).scalars().first()
            if fdef is None:
                if value is None:
                    continue
                fdef = FieldDef(workspace_id=self.workspace.id, key=key, name=name.strip())
                s.add(fdef)
                s.flush()
            s.execute(delete(FieldValue).where(FieldValue.contact_id == contact_id, FieldValue.field_id == fdef.id))
            if value is not None:
                s.add(FieldValue(contact_id=contact_id, field_id=fdef.id, value=value))

    def _check_attrs(self, errors: dict[str, str], name: str | None, status: str | None,
                     language: str | None) -> None:
        if name is not None and len(name) > MAX_NAME:
            errors["name"] = f"Name is longer than {MAX_NAME} characters."
        if status is not None and status not in {s.value for s in Status}:
            errors["status"] = f"Unknown status '{status}' (active, blocked, stopped, archived)."
        if language and not re.fullmatch(r"[a-z]{3}", language):
            errors["language"] = "Language is an ISO-639-3 code, e.g. eng."

    def create_contact(self, name: str = "", urns: Sequence[str] = (), *, language: str | None = None,
                       status: str = "active", groups: Sequence[str] = (),
                       fields: dict[str, str] | None = None) -> ContactView:
        errors: dict[str, str] = {}
        name = (name or "").strip()
        self._check_attrs(errors, name, status, language)
        with self._tx() as s:
            cleaned = self._clean_urns(s, urns, None, errors, set())
            if errors:
                raise ValidationFailed(errors)
            now = utcnow()
            contact = Contact(uuid=str(uuidlib.uuid4()), workspace_id=self.workspace.id, name=name,
                              language=language or None, status=status, created_on=now, modified_on=now)
            s.add(contact)
            s.flush()
            result = lists.replace((), [u.identity for u in cleaned])
            self._write_connections(s, contact.id, cleaned, result.connections)
            self._groups(s, contact.id, groups)
            if fields:
                self.set_fields(s, contact.id, fields)
            s.flush()
            view = self._view(s, contact)
            self._audit(s, "contact.create", contact_id=contact.id, after=_snapshot(view))
        return view

    def update_contact(self, ref: str | int, *, name: str | None = None, urns: Sequence[str] | None = None,
                       groups: Sequence[str] | None = None, fields: dict[str, str | None] | None = None,
                       status: str | None = None, language: str | None = None,
                       expected_version: int | None = None) -> ContactView:
        """The profile page / Contacts API update: ``urns`` *replaces* the list, in the given order.

        Nothing is saved unless everything is valid (ValidationFailed names each bad field).
        With ``expected_version``, a contact saved by someone else meanwhile raises Conflict.
        """
        errors: dict[str, str] = {}
        if name is not None:
            name = name.strip()
        self._check_attrs(errors, name, status, language)
        with self._tx() as s:
            contact = self._find_contact(s, ref)
            before = self._view(s, contact)
            if expected_version is not None and contact.version != expected_version:
                raise Conflict(_conflict_message(before, expected_version), current=before)
            if urns is not None:
                existing = {c.identity for c in before.connections}
                cleaned = self._clean_urns(s, urns, contact.id, errors, existing)
            if errors:
                raise ValidationFailed(errors)
            if urns is not None:
                try:
                    result = lists.replace(tuple(c.core for c in before.connections), [u.identity for u in cleaned])
                except lists.ListError as err:
                    raise ValidationFailed({"urns": str(err)}) from err
                if result.detached:
                    s.execute(update(Connection).where(
                        Connection.workspace_id == self.workspace.id,
                        Connection.identity.in_(result.detached)).values(contact_id=None, affinity_channel_id=None,
                                                                          affinity_since=None,
                                                                          affinity_message_id=None))
                self._write_connections(s, contact.id, cleaned, result.connections)
            if name is not None:
                contact.name = name
            if status is not None:
                contact.status = status
            if language is not None:
                contact.language = language or None
            if groups is not None:
                self._groups(s, contact.id, groups)
            if fields:
                self.set_fields(s, contact.id, fields)
            s.flush()
            after = self._view(s, contact)
            if _snapshot(after) != _snapshot(before):
                bumped = s.execute(update(Contact).where(Contact.id == contact.id,
                                                         Contact.version == before.version)
                                   .values(version=Contact.version + 1, modified_on=utcnow()))
                if bumped.rowcount != 1:
                    raise Conflict("Someone else saved this contact at the same moment; reload and try again.")
                self._audit(s, "contact.update", contact_id=contact.id, before=_snapshot(before),
                            after=_snapshot(after))
                s.flush()
                s.expire_all()
                after = self._view(s, s.get(Contact, contact.id))
        return after

    def set_urns(self, ref: str | int, urns: Sequence[str]) -> ContactView:
        """The Contacts API update of the connections: replace the list with exactly these."""
        return self.update_contact(ref, urns=urns)

    def delete_contact(self, ref: str | int) -> ContactView:
        """Delete a contact: its connections are detached (their identities free again), history stays."""
        with self._tx() as s:
            contact = self._find_contact(s, ref)
            before = self._view(s, contact)
            s.execute(update(Connection).where(Connection.contact_id == contact.id).values(
                contact_id=None, affinity_channel_id=None, affinity_since=None, affinity_message_id=None))
            s.execute(delete(GroupMembership).where(GroupMembership.contact_id == contact.id))
            contact.deleted_on = utcnow()
            contact.version += 1
            s.add(contact)
            self._audit(s, "contact.delete", contact_id=contact.id, before=_snapshot(before))
        return before

    # --- inbound messages ------------------------------------------------------------------------

    def inbound(self, channel_ref: str, urn_text: str, text: str, *, when: datetime | None = None,
                retries: int = 3) -> InboundResult:
        """Record an incoming message (domain.md section 3): find or create the contact, affinity,
        move the connection to the top, unstop, last seen. Retries when another writer races it."""
        channel = self.find_channel(channel_ref)
        try:
            urn = urnlib.clean_text(urn_text, channel.country or self.workspace.country)
        except urnlib.URNError as err:
            raise ValidationFailed({"urn": str(err)}) from err
        problem = lists.receive_problem(channel, urn.scheme)
        if problem is not None:
            raise StoreError(problem)
        for attempt in range(retries):
            try:
                return self._inbound_once(channel, urn, text, when or utcnow())
            except RaceLost:
                if attempt == retries - 1:
                    raise StoreError("Could not record the message: the connection kept changing.")
        raise AssertionError("unreachable")

    def _inbound_once(self, channel: CoreChannel, urn: urnlib.URN, text: str, when: datetime) -> InboundResult:
        with self._tx() as s:
            row = s.execute(select(Connection).where(Connection.workspace_id == self.workspace.id,
                                                     Connection.identity == urn.identity)
                            .with_for_update()).scalars().first()
            contact = None
            if row is not None and row.contact_id is not None:
                contact = s.get(Contact, row.contact_id)
            created = contact is None
            if created:
                contact = Contact(uuid=str(uuidlib.uuid4()), workspace_id=self.workspace.id, name="",
                                  created_on=when, modified_on=when)
                s.add(contact)
                s.flush()
                before = None
                current: tuple = ()
            else:
                before = self._view(s, contact)
                current = tuple(c.core for c in before.connections)
            message = Message(workspace_id=self.workspace.id, contact_id=contact.id, channel_id=channel.id,
                              direction="in", text=text, created_on=when)
            s.add(message)
            s.flush()
            new = lists.inbound(current, urn.identity, channel.id, channel.can_send)
            changed = new != current
            if changed:
                self._write_connections(s, contact.id, [urn], new)
                s.flush()
                top = s.execute(select(Connection).where(Connection.workspace_id == self.workspace.id,
                                                      Connection.identity == urn.identity)).scalars().one()
                old_affinity = next((c.affinity for c in current if c.identity == urn.identity), None)
                if channel.can_send and old_affinity != channel.id:
                    top.affinity_since = when
                    top.affinity_message_id = message.id
                    s.add(top)
            conn_id = s.execute(select(Connection.id).where(Connection.workspace_id == self.workspace.id,
                                                         Connection.identity == urn.identity)).scalars().one()
            message.connection_id = conn_id
            status = lists.unstopped(Status(contact.status))
            if status != contact.status:
                contact.status = status.value
                changed = True
            contact.last_seen_on = when
            if changed and not created:
                contact.version += 1
                contact.modified_on = when
            s.add(contact)
            s.flush()
            after = self._view(s, contact)
            if created or changed:
                self._audit(s, "contact.inbound", contact_id=contact.id,
                            before=_snapshot(before) if before else None, after=_snapshot(after))
            return InboundResult(after, created, changed or created, message.id)


def _snapshot(view: ContactView) -> dict:
    """What an audit event records of a contact."""
    return {
        "name": view.name,
        "status": view.status,
        "language": view.language,
        "connections": [[c.identity, c.affinity_channel_id] for c in view.connections],
        "groups": list(view.groups),
        "fields": dict(view.fields),
    }


def _conflict_message(current: ContactView, expected: int) -> str:
    return (f"{current.name or 'This contact'} was changed by someone else since you opened it "
            f"(version {expected} → {current.version}).")
