"""An open workspace: the one object every front end holds, and the unit of work they share.

``open_workspace(url)`` opens (and, unless read-only, upgrades) the database and finds its
workspace. The use cases hang off it by concern — ``ws.contacts``, ``ws.browse``, ``ws.channels``,
``ws.messages``, ``ws.lockins``, ``ws.audit``, ``ws.history``, ``ws.broadcast``, ``ws.transfer``, ``ws.cleanup`` —
and every write goes through :meth:`Workspace.transaction`, which ends the way every write ends
(``store.unit.epilogue``: audit events, change sequence, NOTIFY). Several use cases may share one
transaction (a merge will).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

import phonenumbers

from ccconsole.app.start import database_label as database_label  # re-exported: it lived here
from ccconsole.core.views import WorkspaceInfo
from ccconsole.errors import StoreError, ValidationFailed
from ccconsole.settings import default_actor
from ccconsole.store import db, live, unit
from ccconsole.store import workspace as workspace_rows
from ccconsole.store.unit import Scope, UnitOfWork

if TYPE_CHECKING:
    from ccconsole.app.audit import AuditLog
    from ccconsole.app.broadcast import Broadcasts
    from ccconsole.app.browse import Browse
    from ccconsole.app.channels import ChannelsService
    from ccconsole.app.cleanup import Cleanup
    from ccconsole.app.contacts import ContactsService
    from ccconsole.app.fields import Fields
    from ccconsole.app.groups import Groups
    from ccconsole.app.history import Histories
    from ccconsole.app.inbound import Messages
    from ccconsole.app.lockins import LockIns
    from ccconsole.app.tokens import Tokens
    from ccconsole.app.transfer import Transfer


class Workspace:
    """One workspace of one database, opened by one person (the actor)."""

    def __init__(self, scope: Scope):
        self.scope = scope

    # --- what it is ------------------------------------------------------------------------------

    @property
    def info(self) -> WorkspaceInfo:
        return self.scope.workspace

    @property
    def actor(self) -> str:
        return self.scope.actor

    @property
    def read_only(self) -> bool:
        return self.scope.read_only

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.scope.dialect

    @property
    def url(self) -> str:
        """The database URL, password hidden (for titles and messages)."""
        return self.scope.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.scope.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the unit of work ------------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, dry_run: bool = False, bulk: bool = False) -> Iterator[UnitOfWork]:
        """One write transaction: what the block does commits together with its audit events and the
        change signal, or not at all (an error, or ``dry_run``). ``bulk``: it writes thousands of
        contacts (``store.unit.transaction``)."""
        with unit.transaction(self.scope, dry_run=dry_run, bulk=bulk) as uow:
            yield uow

    # --- the use cases ---------------------------------------------------------------------------

    @cached_property
    def contacts(self) -> ContactsService:
        from ccconsole.app.contacts import ContactsService

        return ContactsService(self)

    @cached_property
    def browse(self) -> Browse:
        from ccconsole.app.browse import Browse

        return Browse(self)

    @cached_property
    def channels(self) -> ChannelsService:
        from ccconsole.app.channels import ChannelsService

        return ChannelsService(self)

    @cached_property
    def messages(self) -> Messages:
        from ccconsole.app.inbound import Messages

        return Messages(self)

    @cached_property
    def lockins(self) -> LockIns:
        from ccconsole.app.lockins import LockIns

        return LockIns(self)

    @cached_property
    def audit(self) -> AuditLog:
        from ccconsole.app.audit import AuditLog

        return AuditLog(self)

    @cached_property
    def history(self) -> Histories:
        from ccconsole.app.history import Histories

        return Histories(self)

    @cached_property
    def broadcast(self) -> Broadcasts:
        from ccconsole.app.broadcast import Broadcasts

        return Broadcasts(self)

    @cached_property
    def cleanup(self) -> Cleanup:
        from ccconsole.app.cleanup import Cleanup

        return Cleanup(self)

    @cached_property
    def transfer(self) -> Transfer:
        from ccconsole.app.transfer import Transfer

        return Transfer(self)

    @cached_property
    def tokens(self) -> Tokens:
        from ccconsole.app.tokens import Tokens

        return Tokens(self)

    @cached_property
    def groups(self) -> Groups:
        from ccconsole.app.groups import Groups

        return Groups(self)

    @cached_property
    def fields(self) -> Fields:
        from ccconsole.app.fields import Fields

        return Fields(self)

    def reload(self) -> WorkspaceInfo:
        """Read the workspace's settings again (a console may have changed its country or name)."""
        self.scope.workspace = workspace_rows.read(self.scope)
        return self.scope.workspace

    def as_actor(self, actor: str) -> Workspace:
        """The same open workspace (same engine and connections) acting as ``actor`` in the audit log,
        e.g. the user of an API token. Close only the original."""
        return Workspace(Scope(self.scope.engine, self.scope.workspace, actor, self.scope.read_only))

    # --- the workspace itself --------------------------------------------------------------------

    def change_seq(self) -> int:
        """The workspace's change sequence: it moves with every committed write."""
        return workspace_rows.change_seq(self.scope)

    def listener(self) -> live.Listener | None:
        """PostgreSQL: a LISTEN connection that hears every committed write (None on SQLite)."""
        if not live.is_postgres(self.scope.engine):
            return None
        return live.Listener(self.scope.engine, self.info.id)

    def update(self, *, name: str | None = None, country: str | None = None,
               timezone_name: str | None = None) -> WorkspaceInfo:
        """Rename the workspace, set its default country (used to normalize phone numbers) or zone."""
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
        old = self.info
        with self.transaction() as uow:
            before, info = workspace_rows.update(
                uow.session, self.info.id, name=name.strip() if name is not None else None,
                country=country.upper() if country is not None else None, timezone=timezone_name)
            uow.audit("workspace.update", before=before,
                      after={"name": info.name, "country": info.country, "timezone": info.timezone})
            if info.country != before["country"]:  # phone numbers read differently: every problem may change
                self.scope.workspace = info
                uow.rescan = True
                try:
                    uow.refresh_problems()
                finally:
                    self.scope.workspace = old
        self.scope.workspace = info  # only once committed
        return info


def open_workspace(url: str, *, actor: str | None = None, read_only: bool = False,
                   workspace_name: str = "Workspace", country: str | None = None) -> Workspace:
    """Open the database at ``url`` (upgrading its schema unless read-only) and its workspace, created
    when there is none (unless read-only)."""
    engine = db.open_engine(url, read_only=read_only)
    try:
        info = workspace_rows.first_or_create(engine, read_only=read_only, name=workspace_name,
                                              country=country.upper() if country else None)
    except BaseException:
        engine.dispose()
        raise
    if info is None:
        engine.dispose()
        raise StoreError("The database has no workspace yet (read-only: nothing created).")
    ws = Workspace(Scope(engine, info, actor or default_actor(), read_only))
    if not read_only:
        ws.cleanup.catch_up()
    return ws
