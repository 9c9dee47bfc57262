"""THE audit event format, read by the audit log, the history screen and the conflict message.

A contact event records a *snapshot* of the contact before and after (:func:`snapshot`); an affinity
event the connection and its old and new channel; a channel or workspace event their settings; an
event about many contacts (an import, the demo) a summary. Whoever writes (console, command line,
import, bulk action, merge, API, demo) records these same shapes, so every reader understands every
writer: :func:`diff` compares two snapshots field by field, :func:`connection_lines` says what an
event did to a contact's connections.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# keys an event may carry beside the snapshot (where it came from), never compared as a change
META_KEYS = ("import_row", "merge", "merged_into", "renormalize", "batch", "undo_of")


def snapshot(*, name: str, status: str, language: str | None,
             connections: Iterable[tuple[str, int | None]], groups: Sequence[str] | None = None,
             fields: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What an audit event records of a contact. ``connections`` are (identity, affinity channel id)
    in priority order; ``groups`` None leaves groups out (a writer that does not touch them)."""
    snap: dict[str, Any] = {"name": name, "status": status, "language": language,
                            "connections": [[identity, affinity] for identity, affinity in connections]}
    if groups is not None:
        snap["groups"] = list(groups)
    if fields is not None:
        snap["fields"] = dict(fields)
    return snap


# the fields of a contact snapshot in the order people read them, with their labels
FIELD_LABELS = {
    "name": "Name",
    "status": "Status",
    "language": "Language",
    "connections": "Connections",
    "groups": "Groups",
    "fields": "Fields",
    "active": "Active",
    "country": "Country",
    "timezone": "Time zone",
    "type": "Type",
    "schemes": "Schemes",
    "connection": "Connection",
    "affinity_channel_id": "Affinity (channel id)",
}


@dataclass(frozen=True, slots=True)
class Change:
    """One field that differs between two snapshots, as text for people."""

    field: str
    before: str
    after: str

    @property
    def label(self) -> str:
        return FIELD_LABELS.get(self.field, self.field)

    def __str__(self) -> str:
        return f"{self.label}: {self.before} → {self.after}"


def _value(field: str, value: Any) -> str:
    """A snapshot value as people read it."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):  # "Active: no → yes", not "False → True"
        return "yes" if value else "no"
    if field == "connections":
        return ", ".join(str(c[0]) if isinstance(c, (list, tuple)) else str(c) for c in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def format_snapshot(snap: dict) -> str:
    parts = []
    for key in FIELD_LABELS:
        if key in snap and snap[key] not in (None, "", [], {}):
            parts.append(f"{FIELD_LABELS[key]} {_value(key, snap[key])}")
    if not parts:  # not a contact/channel snapshot (e.g. an import's summary): every value
        parts = [f"{k} {_value(k, v)}" for k, v in snap.items()]
    return "; ".join(parts) or "—"


def diff(before: dict | None, after: dict | None) -> list[Change]:
    """The fields that differ between two snapshots, in reading order.

    Connections compare as the ordered list of identities *and* affinities, so a promotion or a new
    lock-in shows as a change even when the same connections remain.
    """
    before, after = before or {}, after or {}
    keys = [k for k in FIELD_LABELS if k in before or k in after]
    keys += sorted(k for k in set(before) | set(after) if k not in FIELD_LABELS and k not in META_KEYS)
    changes = []
    for key in keys:
        old, new = before.get(key), after.get(key)
        if _normal(old) == _normal(new):
            continue
        if key == "connections":
            old_ids = [c[0] for c in old or []]
            new_ids = [c[0] for c in new or []]
            if old_ids == new_ids:  # only an affinity moved
                changes.append(Change(key, _value(key, old), _value(key, new) + " (channel affinity changed)"))
                continue
        changes.append(Change(key, _value(key, old), _value(key, new)))
    return changes


def _normal(value):
    if isinstance(value, tuple):
        return [_normal(v) for v in value]
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value



def connection_lines(action: str, before: dict | None, after: dict | None, names: dict[int, str]) -> list[str]:
    """What an audit event did to the contact's connections, in words (empty: nothing to them)."""
    def channel(cid) -> str:
        return names.get(cid, f"#{cid}") if cid else "none"

    if action.startswith("affinity."):
        identity = (after or before or {}).get("connection", "?")
        old, new = (before or {}).get("affinity_channel_id"), (after or {}).get("affinity_channel_id")
        return [_affinity_line(identity, old, new, channel)]
    old_list = [(c[0], c[1]) for c in (before or {}).get("connections", [])]
    new_list = [(c[0], c[1]) for c in (after or {}).get("connections", [])]
    old_ids, new_ids = [i for i, _ in old_list], [i for i, _ in new_list]
    lines = [f"+ {i}" for i in new_ids if i not in old_ids]
    lines += [f"− {i} (detached)" for i in old_ids if i not in new_ids]
    kept_old = [i for i in old_ids if i in new_ids]
    kept_new = [i for i in new_ids if i in old_ids]
    if kept_old != kept_new:
        top = kept_new[0]
        promoted = kept_new == [top] + [i for i in kept_old if i != top]
        lines.append(f"priority: {top}" if promoted else "order: " + ", ".join(new_ids))
    elif new_ids and old_ids and new_ids[0] != old_ids[0]:
        lines.append(f"priority: {new_ids[0]}")
    old_aff, new_aff = dict(old_list), dict(new_list)
    for identity in new_ids:
        old, new = old_aff.get(identity), new_aff[identity]
        if old != new:
            lines.append(_affinity_line(identity, old, new, channel))
    return lines


def _affinity_line(identity: str, old, new, channel) -> str:
    if old is None:
        return f"{identity}: affinity {channel(new)}"
    if new is None:
        return f"{identity}: affinity cleared (was {channel(old)})"
    return f"{identity}: affinity {channel(old)} → {channel(new)}"
