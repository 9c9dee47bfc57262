"""RapidPro's JSON shapes of our objects."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from ccconsole.core.model import Channel
from ccconsole.core.routing import Channels, route
from ccconsole.core.views import ApiContact, ApiField, ApiGroup, WorkspaceInfo
from ccconsole.http.wire import iso

ANDROID_TYPES = {"android", "a"}


def contact(c: ApiContact, field_keys: list[str], channels: Channels | None, *, expand_urns: bool = False,
            with_route: bool = False) -> dict[str, Any]:
    """``channels`` is needed (only) with ``expand_urns`` or ``with_route``."""
    if c.deleted:  # what RapidPro keeps of a deleted contact
        return {"uuid": c.uuid, "name": None, "status": None, "language": None, "urns": [], "groups": [],
                "fields": {}, "flow": None, "created_on": iso(c.created_on), "modified_on": iso(c.modified_on),
                "last_seen_on": None, "blocked": None, "stopped": None}
    values = dict(c.fields)
    data: dict[str, Any] = {
        "uuid": c.uuid,
        "name": c.name or None,
        "status": c.status,
        "language": c.language,
        "urns": [conn.identity for conn in c.connections],
        "groups": [{"uuid": u, "name": n} for u, n in c.groups],
        "fields": {key: values.get(key) for key in field_keys},
        "flow": None,
        "created_on": iso(c.created_on),
        "modified_on": iso(c.modified_on),
        "last_seen_on": iso(c.last_seen_on),
        "blocked": c.status == "blocked",
        "stopped": c.status == "stopped",
    }
    if (expand_urns or with_route) and channels is None:
        raise ValueError("expanding URNs or routing needs the channels")
    if expand_urns and channels is not None:
        data["urns"] = [urn(conn.identity, conn.display, channels.by_id.get(conn.affinity_channel_id)
                            if conn.affinity_channel_id is not None else None) for conn in c.connections]
    if (expand_urns or with_route) and channels is not None:
        data["route"] = route(c.core, channels).as_dict()
    return data


def urn(identity: str, display: str | None, affinity: Channel | None) -> dict[str, Any]:
    scheme, _, path = identity.partition(":")
    return {"scheme": scheme, "path": path, "display": display,
            "channel": {"uuid": affinity.uuid, "name": affinity.name} if affinity else None}


def channel(ch: Channel) -> dict[str, Any]:
    android = ch.type.lower() in ANDROID_TYPES
    return {
        "uuid": ch.uuid, "name": ch.name, "address": ch.address, "type": ch.type, "country": ch.country,
        "device": {"name": ch.name, "power_level": -1, "power_status": None, "power_source": None,
                   "network_type": None} if android else None,
        "last_seen": iso(ch.created_on), "created_on": iso(ch.created_on),
        # beyond RapidPro: what routing reads
        "schemes": list(ch.schemes), "roles": sorted(ch.roles), "match_prefixes": list(ch.match_prefixes),
        "allow_international": ch.allow_international, "active": ch.active,
    }


def group(g: ApiGroup) -> dict[str, Any]:
    return {"uuid": g.uuid, "name": g.name, "query": None, "status": "ready", "system": False, "count": g.count}


def field(f: ApiField) -> dict[str, Any]:
    return {"key": f.key, "name": f.name, "type": f.value_type,
            # older clients read these two names
            "label": f.name, "value_type": f.value_type}


def workspace(info: WorkspaceInfo) -> dict[str, Any]:
    return {
        # stable for the workspace (it has no UUID column of its own)
        "uuid": str(uuidlib.uuid5(uuidlib.NAMESPACE_OID, f"ccconsole.workspace.{info.id}")),
        "name": info.name, "country": info.country, "languages": [], "primary_language": None,
        "timezone": info.timezone, "date_style": "day_first", "credits": {"used": -1, "remaining": -1},
        "anon": False,
    }
