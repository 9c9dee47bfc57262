"""The contacts table: pages by key, counts and positions, for any query of the query language."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ccconsole.core.views import ApiContact, ContactRow
from ccconsole.store import api as api_rows
from ccconsole.store import contacts as rows
from ccconsole.store.unit import UnitOfWork

if TYPE_CHECKING:
    from ccconsole.app.workspace import Workspace


class Browse:
    def __init__(self, ws: Workspace):
        self.ws = ws

    def page(self, *, after: tuple[str, int] | None = None, before: tuple[str, int] | None = None,
             limit: int = 50, text: str | None = None, last: bool = False) -> list[ContactRow]:
        """A page in (name, id) order: rows after ``after``, before ``before``, the first or the last
        page. A bad query raises ``core.query.QueryError``."""
        return rows.page(self.ws.scope, after=after, before=before, limit=limit, text=text, last=last)

    def page_around(self, key: tuple[str, int], *, before: int = 25, after: int = 50,
                    text: str | None = None) -> list[ContactRow]:
        """Rows just before ``key`` and from ``key`` on: a window that keeps a contact in view."""
        head = self.page(before=key, limit=before, text=text) if before else []
        return head + self.page(after=(key[0], key[1] - 1), limit=after, text=text)

    def rows_for(self, contact_ids: Sequence[int]) -> list[ContactRow]:
        """Fresh table rows for these contacts (a refresh of what is on screen)."""
        return rows.rows_for(self.ws.scope, contact_ids)

    def count(self, text: str | None = None) -> int:
        return rows.count(self.ws.scope, text)

    def position(self, key: tuple[str, int], text: str | None = None) -> int:
        """How many contacts sort before ``key`` (the row number of a contact in the table)."""
        return rows.position(self.ws.scope, key, text)

    # --- the Contacts API's order: newest modified first, by key ---------------------------------

    def by_modified(self, *, limit: int, key: tuple[datetime, int] | None = None, ascending: bool = False,
                    deleted: bool = False, uuid: str | None = None, identity: str | None = None,
                    group_id: int | None = None, since: datetime | None = None,
                    until: datetime | None = None) -> list[ApiContact]:
        """Up to ``limit`` contacts in (modified_on, id) order (newest first unless ``ascending``) after
        ``key``; ``deleted`` lists only deleted ones; ``since``/``until`` bound modified_on (inclusive)."""
        return api_rows.contact_page(self.ws.scope, limit=limit, key=key, ascending=ascending, deleted=deleted,
                                     uuid=uuid, identity=identity, group_id=group_id, since=since, until=until)

    def api_records(self, contact_ids: Sequence[int]) -> list[ApiContact]:
        """The Contacts API's view of these contacts (deleted ones too), in this order."""
        return api_rows.records_by_id(self.ws.scope, contact_ids)

    def api_records_in(self, uow: UnitOfWork, contact_ids: Sequence[int]) -> list[ApiContact]:
        """:meth:`api_records` as a write transaction sees them (the answer to a write, read before
        its commit instead of in a transaction of its own)."""
        return api_rows.records(uow.session, contact_ids)
