"""A contact's history: its messages and the audited changes to its connections, whoever made them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccconsole.store import history as rows
from ccconsole.store.history import LIMIT, ConnectionChange, History, MessageRow

if TYPE_CHECKING:
    from ccconsole.app.workspace import Workspace

__all__ = ["ConnectionChange", "Histories", "History", "MessageRow"]


class Histories:
    def __init__(self, ws: Workspace):
        self.ws = ws

    def contact(self, contact_id: int, *, limit: int = LIMIT) -> History:
        """Newest first: the contact's messages and the audit events that changed its connections."""
        return rows.contact_history(self.ws.scope, contact_id, limit=limit)
