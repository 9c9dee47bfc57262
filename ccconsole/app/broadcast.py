"""The broadcast preview: how one send request to many contacts splits across channels (nothing is
sent), by the shared resolver (``core.routing.BroadcastPlanner``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ccconsole.core.routing import Breakdown
from ccconsole.store import broadcast as rows
from ccconsole.store.broadcast import Cancelled

if TYPE_CHECKING:
    from ccconsole.app.workspace import Workspace

__all__ = ["Broadcasts", "Cancelled"]


class Broadcasts:
    def __init__(self, ws: Workspace):
        self.ws = ws

    def preview(self, *, query: str | None = None, contact_ids: Sequence[int] | None = None,
                progress: Callable[[int, int], None] | None = None, total: int | None = None) -> Breakdown:
        """The breakdown for the contacts matching ``query`` (all when empty) or exactly ``contact_ids``;
        ``progress`` may raise :class:`Cancelled` to stop. A bad query raises ``core.query.QueryError``."""
        return rows.preview(self.ws.scope, query=query, contact_ids=contact_ids, progress=progress, total=total)
