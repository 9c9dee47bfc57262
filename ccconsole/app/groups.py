"""Contact groups as the Contacts API sees them: with UUIDs and member counts; create, delete."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccconsole.core.views import ApiGroup
from ccconsole.errors import NotFound, ValidationFailed
from ccconsole.store import api as rows

if TYPE_CHECKING:
    from ccconsole.app.workspace import Workspace

MAX_NAME = 64


class Groups:
    def __init__(self, ws: Workspace):
        self.ws = ws

    def list(self, *, uuid: str | None = None, name: str | None = None) -> list[ApiGroup]:
        return rows.groups(self.ws.scope, uuid=uuid, name=name)

    def find(self, ref: str) -> ApiGroup | None:
        """A group by UUID or name (any case); its ``count`` is not counted (-1)."""
        found = rows.groups(self.ws.scope, uuid=ref, counts=False) or rows.groups(self.ws.scope, name=ref,
                                                                                   counts=False)
        return found[0] if found else None

    def create(self, name: str) -> ApiGroup:
        name = (name or "").strip()
        if not name or len(name) > MAX_NAME or not name.isprintable():
            raise ValidationFailed({"name": f"A group name is 1 to {MAX_NAME} printable characters."})
        with self.ws.transaction() as uow:
            if rows.find_group(uow.session, self.ws.scope, name) is not None:
                raise ValidationFailed({"name": "This field must be unique."})
            group = rows.insert_group(uow.session, self.ws.scope, name)
            uow.audit("group.create", after={"uuid": group.uuid, "name": group.name})
        return group

    def delete(self, uuid: str) -> None:
        with self.ws.transaction() as uow:
            row = rows.find_group(uow.session, self.ws.scope, uuid)
            if row is None or row.uuid != uuid:
                raise NotFound(f"No group {uuid}.")
            name = row.name
            members = rows.delete_group(uow.session, row)
            rows.touch(uow.session, members, uow.now)
            uow.audit("group.delete", before={"uuid": uuid, "name": name, "members": len(members)})
