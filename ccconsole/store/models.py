"""SQLModel tables. Alembic migrations (store/migrations) create and upgrade them; keep both in step."""

from __future__ import annotations

import uuid as uuidlib
from datetime import UTC, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuidlib.uuid4())


class Workspace(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    country: str | None = Field(default=None, max_length=2)
    timezone: str = "UTC"
    change_seq: int = 0  # bumped in every mutating transaction: a cheap change signal
    problems_version: int = 0  # the rules' version the stored problems were computed with (store.problems)


class Channel(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(unique=True, max_length=36)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    name: str
    type: str
    address: str = ""
    schemes: str  # comma separated
    roles: str = "send,receive"
    country: str | None = Field(default=None, max_length=2)
    match_prefixes: str = ""  # comma separated
    allow_international: bool = False
    active: bool = True
    created_on: datetime = Field(default_factory=utcnow)


class Contact(SQLModel, table=True):
    __table_args__ = (
        Index("ix_contact_ws_name_id", "workspace_id", "name", "id"),
        # the Contacts API's order (newest modified first) read by key (migration 0005)
        Index("ix_contact_ws_modified_id", "workspace_id", "modified_on", "id", "deleted_on"),
    )
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(unique=True, max_length=36)
    workspace_id: int = Field(foreign_key="workspace.id")
    name: str = ""
    language: str | None = Field(default=None, max_length=3)
    status: str = "active"
    created_on: datetime = Field(default_factory=utcnow)
    modified_on: datetime = Field(default_factory=utcnow)
    last_seen_on: datetime | None = None
    deleted_on: datetime | None = None  # deleted contacts keep their history, not their connections
    version: int = 1
    merged_into: int | None = None  # deleted by a merge: the contact it was merged into (the survivor)


class Connection(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("workspace_id", "identity", name="uq_connection_ws_identity"),
        Index("ix_connection_contact_priority", "contact_id", "priority", "id"),
        Index("ix_connection_ws_scheme_path", "workspace_id", "scheme", "path"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id")  # None: detached
    scheme: str
    path: str
    display: str | None = None
    identity: str
    priority: int = 1000
    affinity_channel_id: int | None = Field(default=None, foreign_key="channel.id", index=True)
    affinity_since: datetime | None = None
    affinity_message_id: int | None = None


class ContactGroup(SQLModel, table=True):
    __tablename__ = "contact_group"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_group_ws_name"),
                      Index("ix_contact_group_uuid", "uuid", unique=True))
    id: int | None = Field(default=None, primary_key=True)
    # the API's handle (0005; a column added to existing rows, so NULL is allowed in the schema)
    uuid: str = Field(default_factory=new_uuid, max_length=36, nullable=True)
    workspace_id: int = Field(foreign_key="workspace.id")
    name: str


class GroupMembership(SQLModel, table=True):
    __tablename__ = "group_membership"
    contact_id: int = Field(foreign_key="contact.id", primary_key=True)
    group_id: int = Field(foreign_key="contact_group.id", primary_key=True, index=True)


class FieldDef(SQLModel, table=True):
    __tablename__ = "field_def"
    __table_args__ = (UniqueConstraint("workspace_id", "key", name="uq_field_ws_key"),
                      Index("ix_field_def_uuid", "uuid", unique=True))
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(default_factory=new_uuid, max_length=36, nullable=True)  # as ContactGroup.uuid
    workspace_id: int = Field(foreign_key="workspace.id")
    key: str
    name: str
    value_type: str = "text"


class FieldValue(SQLModel, table=True):
    __tablename__ = "field_value"
    contact_id: int = Field(foreign_key="contact.id", primary_key=True)
    field_id: int = Field(foreign_key="field_def.id", primary_key=True, index=True)
    value: str = Field(sa_column=Column(Text, nullable=False))


class Message(SQLModel, table=True):
    __table_args__ = (Index("ix_message_contact_created", "contact_id", "created_on"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    connection_id: int | None = Field(default=None, foreign_key="connection.id")
    channel_id: int | None = Field(default=None, foreign_key="channel.id")
    direction: str  # "in" or "out"
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_on: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_contact_created", "contact_id", "created_on"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    actor: str
    action: str
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    channel_id: int | None = Field(default=None, foreign_key="channel.id")
    before: str | None = Field(default=None, sa_column=Column(Text))  # JSON
    after: str | None = Field(default=None, sa_column=Column(Text))  # JSON
    created_on: datetime = Field(default_factory=utcnow)


class ContactProblem(SQLModel, table=True):
    """One problem of one live contact (domain.md section 8), kept when the contact is written."""

    __tablename__ = "contact_problem"
    __table_args__ = (Index("ix_contact_problem_ws", "workspace_id", "problem", "contact_id"),)
    contact_id: int = Field(foreign_key="contact.id", primary_key=True)
    problem: str = Field(primary_key=True, max_length=32)
    workspace_id: int = Field(foreign_key="workspace.id")
    reason: str = Field(sa_column=Column(Text, nullable=False))
    identity: str | None = Field(default=None, sa_column=Column(Text))
    other_id: int | None = None  # a duplicate: the contact it duplicates


class ContactKey(SQLModel, table=True):
    """A key of a live contact for the ``duplicate`` problem (core.problems.duplicate_keys)."""

    __tablename__ = "contact_key"
    __table_args__ = (Index("ix_contact_key_ws_key", "workspace_id", "key", "contact_id"),)
    contact_id: int = Field(foreign_key="contact.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=400)
    workspace_id: int = Field(foreign_key="workspace.id")


class ApiToken(SQLModel, table=True):
    """A Contacts API token: only its SHA-256 is kept; ``name`` is the user the audit log records."""

    __tablename__ = "api_token"
    __table_args__ = (
        # one live token per user name (revoked ones stay listed)
        Index("uq_api_token_ws_name_live", "workspace_id", "name", unique=True,
              sqlite_where=text("revoked_on IS NULL"), postgresql_where=text("revoked_on IS NULL")),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id")
    name: str
    key_hash: str = Field(unique=True, max_length=64)
    created_on: datetime = Field(default_factory=utcnow)
    revoked_on: datetime | None = None


class ApiThrottle(SQLModel, table=True):
    """Requests counted per workspace, scope and time window (shared by every server process)."""

    __tablename__ = "api_throttle"
    workspace_id: int = Field(foreign_key="workspace.id", primary_key=True)
    scope: str = Field(primary_key=True)
    window: int = Field(primary_key=True)  # the window's start, in seconds since the epoch
    hits: int = 0
