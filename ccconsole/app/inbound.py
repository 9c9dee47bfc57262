"""Incoming messages (domain.md section 3): the contact is found or created, and ``core.lists.receive``
— the same rule the what-if pane replays — decides its connection list and status."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ccconsole.core import lists
from ccconsole.core import urns as urnlib
from ccconsole.core.model import Channel, Status
from ccconsole.core.model import Contact as CoreContact
from ccconsole.core.views import InboundResult, contact_snapshot
from ccconsole.errors import RaceLost, StoreError, ValidationFailed
from ccconsole.store import contacts as rows
from ccconsole.store.unit import utcnow

if TYPE_CHECKING:
    from ccconsole.app.workspace import Workspace


class Messages:
    def __init__(self, ws: Workspace):
        self.ws = ws

    def receive(self, channel_ref: str, urn_text: str, text: str, *, when: datetime | None = None,
                retries: int = 3) -> InboundResult:
        """Record an incoming message: find or create the contact, then apply ``core.lists.receive``
        (the connection to the top with the channel's affinity, unstopped), last seen. Retries when
        another writer races it."""
        channel = self.ws.channels.find(channel_ref)
        try:
            urn = urnlib.clean_text(urn_text, channel.country or self.ws.info.country)
        except urnlib.URNError as err:
            raise ValidationFailed({"urn": str(err)}) from err
        problem = lists.receive_problem(channel, urn.scheme)
        if problem is not None:
            raise StoreError(problem)
        for attempt in range(retries):
            try:
                return self._receive_once(channel, urn, text, when or utcnow())
            except RaceLost:
                if attempt == retries - 1:
                    raise StoreError("Could not record the message: the connection kept changing.") from None
        raise AssertionError("unreachable")

    def _receive_once(self, channel: Channel, urn: urnlib.URN, text: str, when: datetime) -> InboundResult:
        scope = self.ws.scope
        with self.ws.transaction() as uow:
            s = uow.session
            contact = rows.owner_of(s, scope, urn.identity)
            created = contact is None
            if contact is None:
                contact = rows.insert(s, scope, name="", language=None, status=Status.ACTIVE.value, when=when)
                before = None
                current = CoreContact(Status.ACTIVE, (), "", contact.id)
            else:
                before = rows.view(s, contact)
                current = before.core
            assert contact.id is not None  # a stored row
            message = rows.add_message(s, scope, contact_id=contact.id, channel_id=channel.id, text=text, when=when)
            assert message.id is not None  # stored (flushed)
            after = lists.receive(current, urn.identity, channel)
            changed = after.connections != current.connections
            if changed:
                rows.write_connections(s, scope, contact.id, [urn], after.connections)
                s.flush()
                old_affinity = next((c.affinity for c in current.connections if c.identity == urn.identity), None)
                if after.connections[0].affinity != old_affinity and after.connections[0].affinity is not None:
                    rows.set_affinity_origin(s, scope, urn.identity, when, message.id)
            message.connection_id = rows.connection_id(s, scope, urn.identity)
            if after.status != current.status:
                contact.status = after.status.value
                changed = True
            contact.last_seen_on = when
            if changed and not created:
                contact.version += 1
                contact.modified_on = when
            s.add(contact)
            s.add(message)
            s.flush()
            view = rows.view(s, contact)
            message_id = message.id
            if created or changed:
                uow.audit("contact.inbound", contact_id=contact.id,
                          before=contact_snapshot(before) if before else None, after=contact_snapshot(view))
        return InboundResult(view, created, changed or created, message_id)
