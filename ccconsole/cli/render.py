"""How the command line prints results as text (``--json`` prints the data instead)."""

from __future__ import annotations

from typing import Any

from ccconsole.app.audit import AuditEntry
from ccconsole.app.history import History
from ccconsole.app.lockins import AffinityRow
from ccconsole.core import urns as urnlib
from ccconsole.core.lockin import KIND_TEXT
from ccconsole.core.model import Channel
from ccconsole.core.text import when
from ccconsole.core.views import ContactView, RouteView, WorkspaceInfo


def workspace_line(ws: WorkspaceInfo) -> str:
    return f"{ws.name}  country: {ws.country or '(none)'}  time zone: {ws.timezone}"


def channel_dict(ch: Channel) -> dict[str, Any]:
    return {"uuid": ch.uuid, "name": ch.name, "type": ch.type, "address": ch.address, "schemes": list(ch.schemes),
            "roles": sorted(ch.roles), "country": ch.country, "match_prefixes": list(ch.match_prefixes),
            "allow_international": ch.allow_international, "active": ch.active,
            "created_on": ch.created_on.isoformat() if ch.created_on else None}

CHANNEL_HEADER = "NAME\tTYPE\tSCHEMES\tADDRESS\tCOUNTRY\tSTATE"


def channel_line(c: Channel) -> str:
    return (f"{c.name}\t{c.type}\t{','.join(c.schemes)}\t{c.address}\t{c.country or '-'}\t"
            f"{'active' if c.active else 'disabled'}")


def contact_lines(view: ContactView, country: str | None, channel_names: dict[int, str]) -> list[str]:
    lines = [f"{view.name or '(no name)'}  {view.uuid}  {view.status}  v{view.version}"]
    for i, c in enumerate(view.connections, 1):
        aff = (f"  affinity {channel_names.get(c.affinity_channel_id, f'#{c.affinity_channel_id}')}"
               if c.affinity_channel_id else "")
        lines.append(f"  {i} {c.identity}  ({urnlib.display_identity(c.identity, country)}){aff}")
    if view.groups:
        lines.append("  groups: " + ", ".join(view.groups))
    for k, v in view.fields:
        lines.append(f"  {k}: {v}")
    return lines


def affinity_line(r: AffinityRow, names: dict[int, str], country: str | None, zone: str) -> str:
    return (f"{names.get(r.channel_id, '?'):<20} {KIND_TEXT[r.kind]:<15} "
            f"{''.join('✓' if c.met else '✗' for c in r.state.conditions)}  "
            f"{urnlib.display_identity(r.identity, country):<20} {r.contact_name or '(no name)'}"
            + (f"  since {when(r.since, zone)}" if r.since else "")
            + (f'  "{r.message_text}"' if r.message_text is not None else ""))


def history_lines(found: History, zone: str) -> list[str]:
    lines = ["Messages"] + [f"  {when(m.when, zone)} {'←' if m.direction == 'in' else '→'} "
                            f"{m.channel:<16} {m.identity:<24} {m.text}" for m in found.messages]
    lines += ["Connection changes"] + [f"  {when(c.when, zone)} {c.actor:<12} {c.action:<16} {line}"
                                      for c in found.changes for line in c.lines]
    return lines


def route_lines(rv: RouteView) -> list[str]:
    return [f"{rv.contact.name or '(no name)'} ({rv.contact.uuid})", *rv.route.explain(),
            f"lock-in: {rv.lock_in.kind.value}" + (f" to {rv.lock_in.channel.name}" if rv.lock_in.channel else ""),
            *(f"  {'✓' if c.met else '✗'} {c.text}" for c in rv.lock_in.conditions),
            f"@contact.urn = {rv.contact_urn or ''}",
            *(f"@urns.{k} = {v}" for k, v in rv.urns.items())]


def audit_dict(e: AuditEntry) -> dict[str, Any]:
    return {"id": e.id, "when": e.created_on.isoformat(), "actor": e.actor, "action": e.action,
            "subject": e.subject, "contact_id": e.contact_id, "channel_id": e.channel_id,
            "changes": [{"field": c.field, "before": c.before, "after": c.after} for c in e.changes],
            "summary": e.summary}


def audit_line(e: AuditEntry, zone: str) -> str:
    return f"{when(e.created_on, zone)} {e.actor}\t{e.action}\t{e.subject}\t{e.summary}"
