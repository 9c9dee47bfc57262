"""The audit log: who changed what and when, for the workspace or one contact, filtered and paged;
and what changed in a contact since someone loaded it (the conflict message)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccconsole.core.changes import Change, diff
from ccconsole.core.views import ContactView, contact_snapshot
from ccconsole.store import audit as rows
from ccconsole.store.audit import PAGE, AuditEntry

if TYPE_CHECKING:
    from ccconsole.app.workspace import Workspace

__all__ = ["AuditEntry", "AuditLog", "Change", "PAGE", "contact_changes"]


def contact_changes(loaded: ContactView, current: ContactView) -> list[Change]:
    """What changed in a contact between the version someone loaded and the current one."""
    return diff(contact_snapshot(loaded), contact_snapshot(current))


class AuditLog:
    def __init__(self, ws: Workspace):
        self.ws = ws

    def page(self, *, contact_id: int | None = None, actor: str | None = None, action: str | None = None,
             text: str | None = None, before_id: int | None = None, limit: int = PAGE) -> list[AuditEntry]:
        """Events newest first; the next page starts ``before_id`` = the last id of this one."""
        return rows.page(self.ws.scope, contact_id=contact_id, actor=actor, action=action, text=text,
                         before_id=before_id, limit=limit)

    def count(self, *, contact_id: int | None = None, actor: str | None = None, action: str | None = None,
              text: str | None = None) -> int:
        return rows.count(self.ws.scope, contact_id=contact_id, actor=actor, action=action, text=text)

    def actors(self) -> list[str]:
        """Everyone who changed something in the workspace, alphabetically."""
        return rows.actors(self.ws.scope)

    def actions(self) -> list[str]:
        return rows.actions(self.ws.scope)
