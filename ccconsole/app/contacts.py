"""Contacts: read one, route one, create, update (the profile page / Contacts API: ``urns``
*replaces* the list), delete. Each write is one unit of work; the rules are the core's."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ccconsole.core import lists
from ccconsole.core import urns as urnlib
from ccconsole.core.importing import field_key
from ccconsole.core.lockin import contact_urn, lock_in, urns_by_scheme
from ccconsole.core.model import Status
from ccconsole.core.routing import Channels, route
from ccconsole.core.views import ContactView, RouteView, contact_snapshot
from ccconsole.errors import Conflict, ValidationFailed
from ccconsole.store import contacts as rows
from ccconsole.store.unit import UnitOfWork

if TYPE_CHECKING:
    from ccconsole.app.workspace import Workspace

MAX_NAME = 128


class ContactsService:
    def __init__(self, ws: Workspace):
        self.ws = ws

    # --- reading ---------------------------------------------------------------------------------

    def get(self, ref: str | int) -> ContactView:
        """A live contact by id, UUID or one of its connections (``tel:0788383383``)."""
        return rows.get(self.ws.scope, ref)

    def merged_into(self, uuid: str) -> str | None:
        """The UUID of the contact a merged contact's UUID now leads to (None: not merged)."""
        return rows.merged_into(self.ws.scope, uuid)

    def route(self, ref: str | int, contact: ContactView | None = None) -> RouteView:
        """The resolver's decision for a contact, with lock-in and the expression values."""
        view = contact or self.get(ref)
        chans = Channels(self.ws.channels.list())
        core = view.core
        messages = rows.message_texts(self.ws.scope, [c.affinity_message_id for c in view.connections
                                                      if c.affinity_message_id])
        return RouteView(view, route(core, chans), lock_in(core, chans), contact_urn(core, chans),
                         urns_by_scheme(core), {c.id: c.name for c in chans.all}, messages)

    def owners(self, identities: Iterable[str]) -> dict[str, tuple[int | None, str]]:
        """Who owns each identity: ``{identity: (contact id or None if detached, contact name)}``."""
        return rows.connection_owners(self.ws.scope, identities)

    def field_definitions(self) -> list[tuple[str, str]]:
        """The workspace's custom fields, ``(key, name)``, in the order a form lists them."""
        return rows.field_definitions(self.ws.scope)

    # --- writing ---------------------------------------------------------------------------------

    def create(self, name: str = "", urns: Sequence[str] = (), *, language: str | None = None,
               status: str = "active", groups: Sequence[str] = (),
               fields: dict[str, str] | None = None) -> ContactView:
        with self.ws.transaction() as uow:
            view = self.create_in(uow, name, urns, language=language, status=status, groups=groups, fields=fields)
        return view

    def create_in(self, uow: UnitOfWork, name: str = "", urns: Sequence[str] = (), *, language: str | None = None,
                  status: str = "active", groups: Sequence[str] = (),
                  fields: dict[str, str] | None = None) -> ContactView:
        """:meth:`create` inside a unit of work shared with other use cases."""
        errors: dict[str, str] = {}
        name = (name or "").strip()
        _check_attrs(errors, name, status, language)
        s, scope = uow.session, self.ws.scope
        cleaned = self._clean_urns(uow, urns, None, errors, set())
        if errors:
            raise ValidationFailed(errors)
        contact = rows.insert(s, scope, name=name, language=language, status=status, when=uow.now)
        assert contact.id is not None  # inserted (flushed)
        result = lists.replace((), [u.identity for u in cleaned])
        rows.write_connections(s, scope, contact.id, cleaned, result.connections)
        rows.set_groups(s, scope, contact.id, groups)
        if fields:
            rows.set_fields(s, scope, contact.id, _field_values(fields))
        s.flush()
        view = rows.view(s, contact)
        uow.audit("contact.create", contact_id=contact.id, after=contact_snapshot(view))
        return view

    def update(self, ref: str | int, *, name: str | None = None, urns: Sequence[str] | None = None,
               groups: Sequence[str] | None = None, fields: dict[str, str | None] | None = None,
               status: str | None = None, language: str | None = None,
               expected_version: int | None = None) -> ContactView:
        """The profile page / Contacts API update: ``urns`` *replaces* the list, in the given order.

        Nothing is saved unless everything is valid (ValidationFailed names each bad field).
        With ``expected_version``, a contact saved by someone else meanwhile raises Conflict.
        """
        with self.ws.transaction() as uow:
            view = self.update_in(uow, ref, name=name, urns=urns, groups=groups, fields=fields, status=status,
                                  language=language, expected_version=expected_version)
        return view

    def update_in(self, uow: UnitOfWork, ref: str | int, *, name: str | None = None,
                  urns: Sequence[str] | None = None, groups: Sequence[str] | None = None,
                  fields: dict[str, str | None] | None = None, status: str | None = None,
                  language: str | None = None, expected_version: int | None = None) -> ContactView:
        """:meth:`update` inside a unit of work shared with other use cases."""
        errors: dict[str, str] = {}
        if name is not None:
            name = name.strip()
        _check_attrs(errors, name, status, language)
        s, scope = uow.session, self.ws.scope
        before = rows.fetch(s, scope, ref)
        contact_id = before.id
        if expected_version is not None and before.version != expected_version:
            raise Conflict(_conflict_message(before, expected_version), current=before)
        cleaned: list[urnlib.URN] = []
        if urns is not None:
            cleaned = self._clean_urns(uow, urns, contact_id, errors, {c.identity for c in before.connections})
        if errors:
            raise ValidationFailed(errors)
        if urns is not None:
            try:
                result = lists.replace(tuple(c.core for c in before.connections), [u.identity for u in cleaned])
            except lists.ListError as err:
                raise ValidationFailed({"urns": str(err)}) from err
            rows.detach(s, scope, result.detached)
            rows.write_connections(s, scope, contact_id, cleaned, result.connections)
        # only what differs is written
        attributes: dict[str, str | None] = {}
        if name is not None and name != before.name:
            attributes["name"] = name
        if status is not None and status != before.status:
            attributes["status"] = status
        if language is not None and (language or None) != before.language:
            attributes["language"] = language or None
        rows.set_attributes(s, contact_id, attributes)
        groups_written = groups is not None and rows.set_groups(s, scope, contact_id, groups, current=before.groups)
        fields_written = bool(fields) and rows.set_fields(s, scope, contact_id, _field_values(fields or {}),
                                                          current=dict(before.fields))
        after = rows.reread(s, before, attributes, connections=urns is not None, groups=groups_written,
                            fields=fields_written)
        if contact_snapshot(after) != contact_snapshot(before):
            if not rows.bump_version(s, contact_id, before.version, uow.now):
                raise Conflict("Someone else saved this contact at the same moment; reload and try again.")
            uow.audit("contact.update", contact_id=contact_id, before=contact_snapshot(before),
                      after=contact_snapshot(after))
            # what the bump wrote, without reading the contact a third time
            after = dataclasses.replace(after, version=before.version + 1, modified_on=uow.now)
        return after

    def set_urns(self, ref: str | int, urns: Sequence[str]) -> ContactView:
        """The Contacts API update of the connections: replace the list with exactly these."""
        return self.update(ref, urns=urns)

    def delete(self, ref: str | int) -> ContactView:
        """Delete a contact: its connections are detached (their identities free again), history stays."""
        with self.ws.transaction() as uow:
            before = self.delete_in(uow, ref)
        return before

    def delete_in(self, uow: UnitOfWork, ref: str | int) -> ContactView:
        """:meth:`delete` inside a unit of work shared with other use cases."""
        s = uow.session
        contact = rows.find(s, self.ws.scope, ref)
        before = rows.view(s, contact)
        rows.mark_deleted(s, contact, uow.now)
        uow.audit("contact.delete", contact_id=contact.id, before=contact_snapshot(before))
        return before

    def change_groups_in(self, uow: UnitOfWork, ref: str | int, *, add: Sequence[str] = (),
                         remove: Sequence[str] = ()) -> ContactView:
        """Add the contact to groups / remove it from groups (by name), its other groups kept."""
        current = rows.view(uow.session, rows.find(uow.session, self.ws.scope, ref))
        gone = {g.casefold() for g in remove}
        names = [g for g in current.groups if g.casefold() not in gone]
        names += [g for g in add if g not in names]
        if list(names) == list(current.groups):
            return current
        return self.update_in(uow, current.id, groups=names)

    # --- the rules of a typed list ---------------------------------------------------------------

    def _clean_urns(self, uow: UnitOfWork, texts: Sequence[str], contact_id: int | None,
                    errors: dict[str, str], existing: set[str]) -> list[urnlib.URN]:
        """Clean typed connections (``scheme:path``); per-field errors; refuse ones owned elsewhere."""
        cleaned: list[urnlib.URN] = []
        seen: dict[str, int] = {}
        country = self.ws.info.country
        for i, text in enumerate(texts):
            try:
                urn = urnlib.clean_text(text, country)
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
        for identity, owner_id, owner_name, owner_uuid in rows.locked_owners(uow.session, self.ws.scope,
                                                                             [u.identity for u in cleaned]):
            if owner_id is not None and owner_id != contact_id:
                errors[f"urns.{seen[identity]}"] = f"In use by another contact: {owner_name or owner_uuid}."
        return cleaned


def _field_values(values: dict[str, str] | dict[str, str | None]) -> dict[str, tuple[str, str | None]]:
    """Typed field names to ``{key: (label, value)}`` (core.importing.field_key)."""
    return {field_key(name): (name.strip(), value) for name, value in values.items()}


def _check_attrs(errors: dict[str, str], name: str | None, status: str | None, language: str | None) -> None:
    if name is not None and len(name) > MAX_NAME:
        errors["name"] = f"Name is longer than {MAX_NAME} characters."
    if status is not None and status not in {s.value for s in Status}:
        errors["status"] = f"Unknown status '{status}' (active, blocked, stopped, archived)."
    if language and not re.fullmatch(r"[a-z]{3}", language):
        errors["language"] = "Language is an ISO-639-3 code, e.g. eng."


def _conflict_message(current: ContactView, expected: int) -> str:
    return (f"{current.name or 'This contact'} was changed by someone else since you opened it "
            f"(version {expected} → {current.version}).")
