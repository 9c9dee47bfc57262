"""Contact fields as the Contacts API sees them: key, label, type; create."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ccconsole.core.importing import field_key
from ccconsole.core.views import ApiField
from ccconsole.errors import ValidationFailed
from ccconsole.store import api as rows

if TYPE_CHECKING:
    from ccconsole.app.workspace import Workspace

TYPES = ("text", "number", "datetime", "state", "district", "ward")
MAX_NAME = 36


class Fields:
    def __init__(self, ws: Workspace):
        self.ws = ws

    def keys(self) -> list[str]:
        return rows.field_keys(self.ws.scope)

    def list(self, key: str | None = None) -> list[ApiField]:
        return rows.fields(self.ws.scope, key)

    def create(self, name: str, value_type: str = "text") -> ApiField:
        name = (name or "").strip()
        errors = {}
        if not name or len(name) > MAX_NAME or not name.isprintable():
            errors["name"] = f"A field name is 1 to {MAX_NAME} printable characters."
        if value_type not in TYPES:
            errors["type"] = f"\"{value_type}\" is not a valid choice."
        key = field_key(name) if name else ""
        if name and not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            errors["name"] = "Can only contain letters, numbers and underscores."
        if errors:
            raise ValidationFailed(errors)
        with self.ws.transaction() as uow:
            if rows.find_field(uow.session, self.ws.scope, key) is not None:
                raise ValidationFailed({"name": "This field must be unique."})
            created = rows.insert_field(uow.session, self.ws.scope, key, name, value_type)
            uow.audit("field.create", after={"key": key, "name": name, "type": value_type})
        return created
