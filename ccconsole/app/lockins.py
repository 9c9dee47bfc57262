"""Lock-ins: the affinities of the workspace as the lock-ins screen lists them, and the audited bulk
actions on them (clear, move), chunk by chunk with progress and cancel."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from ccconsole.core.lockin import LockInKind
from ccconsole.core.routing import affinity_problem
from ccconsole.errors import StoreError
from ccconsole.store import lockins as rows
from ccconsole.store.lockins import CHUNK, AffinityRow, BulkResult, Group

if TYPE_CHECKING:
    from ccconsole.app.workspace import Workspace

__all__ = ["AffinityRow", "BulkResult", "Group", "LockIns"]

Progress = Callable[[int, int], object] | None  # its result is ignored
Cancelled = Callable[[], bool] | None


class LockIns:
    def __init__(self, ws: Workspace):
        self.ws = ws

    def groups(self) -> list[Group]:
        """Every affinity counted by (channel, connection type, priority or not), with its kind."""
        return rows.groups(self.ws.scope)

    def rows(self, *, channel_id: int | None = None, kinds: Iterable[LockInKind] | None = None,
             text: str | None = None, limit: int = 1000, known: Sequence[Group] | None = None,
             contact_id: int | None = None) -> list[AffinityRow]:
        """Affinities in (channel, contact name) order, at most ``limit``, each assessed by core."""
        return rows.rows(self.ws.scope, channel_id=channel_id, kinds=kinds, text=text, limit=limit, known=known,
                         contact_id=contact_id)

    def connection_ids(self, *, channel_id: int | None = None, kinds: Iterable[LockInKind] | None = None,
                       text: str | None = None, contact_id: int | None = None) -> list[int]:
        """Every connection a listing selects (for a bulk action on the whole selection)."""
        return rows.connection_ids(self.ws.scope, channel_id=channel_id, kinds=kinds, text=text,
                                   contact_id=contact_id)

    def clear(self, ids: Sequence[int], *, progress: Progress = None, cancelled: Cancelled = None,
              chunk: int = CHUNK) -> BulkResult:
        """Clear the affinity of these connections (audited): routing then follows the normal rules."""
        self.ws.scope.check_writable()
        return rows.set_affinities(self.ws.scope, ids, None, progress=progress, cancelled=cancelled, chunk=chunk)

    def move(self, ids: Sequence[int], channel_ref: str | int, *, progress: Progress = None,
             cancelled: Cancelled = None, chunk: int = CHUNK) -> BulkResult:
        """Give these connections affinity to another channel (audited), e.g. when a number is retired.
        The target must be able to take them: active, sending, serving every connection's type."""
        self.ws.scope.check_writable()
        channel = self.ws.channels.find(str(channel_ref))
        for scheme in sorted(rows.schemes(self.ws.scope, ids, chunk)):
            problem = affinity_problem(channel, scheme)
            if problem is not None:
                raise StoreError(f"Cannot move affinities to {channel.name}: {problem}.")
        return rows.set_affinities(self.ws.scope, ids, channel.id, progress=progress, cancelled=cancelled,
                                   chunk=chunk)
