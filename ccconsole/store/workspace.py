"""The workspace row: found or created on open, its settings, its change sequence."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlmodel import Session

from ccconsole.core.views import WorkspaceInfo
from ccconsole.store.models import Workspace
from ccconsole.store.problems import VERSION as PROBLEMS_VERSION
from ccconsole.store.unit import Scope, reading, translating


def _info(ws: Workspace) -> WorkspaceInfo:
    assert ws.id is not None  # a stored row
    return WorkspaceInfo(ws.id, ws.name, ws.country, ws.timezone)


def first_or_create(engine: Engine, *, read_only: bool, name: str, country: str | None) -> WorkspaceInfo | None:
    """The database's (first) workspace; created with ``name`` and ``country`` when there is none,
    unless ``read_only`` (then None)."""
    with translating(), Session(engine) as s:
        ws = s.execute(select(Workspace).order_by(Workspace.id).limit(1)).scalars().first()
        if ws is None:
            if read_only:
                return None
            ws = Workspace(name=name, country=country, problems_version=PROBLEMS_VERSION)  # no contacts: none
            s.add(ws)
            s.commit()
            s.refresh(ws)
        return _info(ws)


def update(s: Session, workspace_id: int, *, name: str | None, country: str | None,
           timezone: str | None) -> tuple[dict, WorkspaceInfo]:
    """Change what is given (``country`` "" / None: see the caller); returns (before, after)."""
    ws = s.get(Workspace, workspace_id)
    assert ws is not None  # the open workspace; workspaces are never deleted
    before = {"name": ws.name, "country": ws.country, "timezone": ws.timezone}
    if name is not None:
        ws.name = name
    if country is not None:
        ws.country = country or None
    if timezone is not None:
        ws.timezone = timezone
    s.add(ws)
    s.flush()
    return before, _info(ws)


def change_seq(scope: Scope) -> int:
    with reading(scope) as s:
        return s.execute(select(Workspace.change_seq).where(Workspace.id == scope.workspace.id)).scalar_one()


def read(scope: Scope) -> WorkspaceInfo:
    """The workspace's settings as stored now (another program may have changed them)."""
    with reading(scope) as s:
        ws = s.get(Workspace, scope.workspace.id)
        assert ws is not None  # workspaces are never deleted
        return _info(ws)
