"""Merging two contacts into one (domain.md section 8): what the survivor becomes. Pure rules.

B is merged into A (A survives). :func:`plan` says the resulting connection order, which of B's
connections are dropped into one of A's (the same address: ``problems.address_keys``), every
attribute both have with different values (a :class:`Clash`, where staff pick; A's by default), the
union of the groups, and whether the result would exceed the connection limit. The store applies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ccconsole.core.lists import MAX_CONNECTIONS
from ccconsole.core.problems import address_keys, connection_text
from ccconsole.core.views import ContactView

KEEP, OTHER = "keep", "other"
ATTRIBUTES = ("name", "language", "status")


@dataclass(frozen=True)
class Clash:
    """An attribute (``name``, ``language``, ``status`` or ``fields.<key>``) both contacts have,
    with different values: the survivor takes ``keep`` unless staff pick ``other``."""

    attr: str
    keep: str
    other: str


@dataclass(frozen=True)
class Plan:
    connections: tuple[str, ...]  # the survivor's identities, in priority order
    moved: tuple[str, ...]  # B's connections that move to A as they are
    dropped: tuple[tuple[str, str], ...]  # (B's identity, A's identity it is the same address as)
    clashes: tuple[Clash, ...]
    values: Mapping[str, str | None]  # the survivor's name, language, status and fields.<key>
    groups: tuple[str, ...]
    too_many: bool

    @property
    def refusal(self) -> str | None:
        if self.too_many:
            return (f"The merged contact would have {len(self.connections)} connections; "
                    f"a contact may have at most {MAX_CONNECTIONS}.")
        return None


def _values(c: ContactView) -> dict[str, str | None]:
    values: dict[str, str | None] = {"name": c.name or None, "language": c.language or None, "status": c.status}
    values.update((f"fields.{k}", v if v != "" else None) for k, v in c.fields)
    return values


def plan(keep: ContactView, other: ContactView, country: str | None,
         picks: Mapping[str, str] | None = None) -> Plan:
    """B (``other``) merged into A (``keep``); ``picks`` maps a clashing attribute to ``keep`` or
    ``other`` (unknown attributes or values are ignored: A's value stays)."""
    picks = picks or {}
    mine = [(c.identity, address_keys(connection_text(c.core), country)) for c in keep.connections]
    order = [identity for identity, _ in mine]
    moved, dropped = [], []
    for conn in other.connections:
        keys = address_keys(connection_text(conn.core), country)
        same = next((identity for identity, their in mine if conn.identity == identity or keys & their), None)
        if same is not None:
            dropped.append((conn.identity, same))
        else:
            order.append(conn.identity)
            moved.append(conn.identity)
    a, b = _values(keep), _values(other)
    values: dict[str, str | None] = {}
    clashes = []
    for attr in list(a) + [k for k in b if k not in a]:
        mine_v, theirs = a.get(attr), b.get(attr)
        if mine_v is None:
            values[attr] = theirs
        elif theirs is None or theirs == mine_v:
            values[attr] = mine_v
        else:
            # a status is never empty: an active A keeps its status unless staff pick B's
            clashes.append(Clash(attr, mine_v, theirs))
            values[attr] = theirs if picks.get(attr) == OTHER else mine_v
    groups = tuple(sorted(set(keep.groups) | set(other.groups)))
    return Plan(tuple(order), tuple(moved), tuple(dropped), tuple(clashes), values, groups,
                len(order) > MAX_CONNECTIONS)


def older(a: ContactView, b: ContactView) -> ContactView:
    """The survivor by default: the older contact (created first; the lower id on a tie)."""
    return a if (a.created_on, a.id) <= (b.created_on, b.id) else b
