"""Reload after a refused save: the new version of a contact with the user's unsaved edits on top.

A three-way merge per field of the Update Contact form. ``base`` is the version the form was opened
on, ``theirs`` the version saved meanwhile by someone else, ``mine`` what the form holds now.

* A field the user did not touch takes their value (their change is not undone by accident).
* A field only the user changed keeps the user's value.
* A field both changed keeps the user's value and is reported as a *clash*, with theirs shown beside
  it, so the user decides before saving again.
* Groups merge as sets: the user's additions and removals are applied to their groups.
* Connections, when the user changed them: the user's list in the user's order, minus connections
  they removed that the user had left alone, plus connections they added (at their position);
  affinities come from their version. When the user did not change them: exactly theirs.

Pure functions on plain values: no Textual, no database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence


@dataclass(frozen=True, slots=True)
class FormConn:
    """A connection row of the form: type, text typed, the stored identity it came from, its affinity."""

    scheme: str
    value: str
    original: str | None = None
    affinity: int | None = None
    identity: str | None = None  # what the typed text normalizes to (None: invalid)


@dataclass(frozen=True, slots=True)
class Merged:
    name: str
    groups: list[str]
    connections: list[FormConn]
    clashes: dict[str, str]  # field -> their value, where both sides changed it differently


def merge_name(base: str, mine: str, theirs: str) -> tuple[str, bool]:
    if mine.strip() == base.strip():
        return theirs, False
    return mine, theirs.strip() != base.strip() and theirs.strip() != mine.strip()


def merge_groups(base: Sequence[str], mine: Sequence[str], theirs: Sequence[str]) -> tuple[list[str], bool]:
    base_set, mine_set, theirs_set = set(base), set(mine), set(theirs)
    if mine_set == base_set:
        return list(theirs), False
    added = [g for g in mine if g not in base_set]
    removed = base_set - mine_set
    result = [g for g in theirs if g not in removed]
    result += [g for g in added if g not in result]
    clash = theirs_set != base_set and result != list(mine)
    return result, clash


def merge_connections(base: Sequence[tuple[str, int | None]], mine: Sequence[FormConn],
                      theirs: Sequence[tuple[str, int | None]], edit_value) -> tuple[list[FormConn], bool]:
    """``base``/``theirs``: (identity, affinity) in priority order; ``edit_value(identity)`` gives the
    text the form shows for a stored identity."""
    base_ids = [i for i, _ in base]
    their_ids = [i for i, _ in theirs]
    their_aff = dict(theirs)
    untouched = [c.identity for c in mine] == base_ids and all(c.original == c.identity for c in mine)
    if untouched:
        return [FormConn(i.partition(":")[0], edit_value(i), i, a, i) for i, a in theirs], False
    result: list[FormConn] = []
    for c in mine:
        if c.original is not None and c.original == c.identity and c.original not in their_ids \
                and c.original in base_ids:
            continue  # they removed it and the user left it alone: their removal stands
        if c.original is not None and c.original == c.identity:
            c = replace(c, affinity=their_aff.get(c.original))
        elif c.identity is not None and c.identity in their_aff:
            c = replace(c, original=c.identity, affinity=their_aff[c.identity])
        result.append(c)
    mine_ids = {c.identity for c in mine} | {c.original for c in mine}
    for index, identity in enumerate(their_ids):
        if identity not in base_ids and identity not in mine_ids:  # they added it
            conn = FormConn(identity.partition(":")[0], edit_value(identity), identity, their_aff[identity], identity)
            result.insert(min(index, len(result)), conn)
    clash = their_ids != base_ids and [c.identity for c in result] != their_ids
    return result, clash


def merge(base_name: str, base_groups: Sequence[str], base_conns: Sequence[tuple[str, int | None]],
          mine_name: str, mine_groups: Sequence[str], mine_conns: Sequence[FormConn],
          their_name: str, their_groups: Sequence[str], their_conns: Sequence[tuple[str, int | None]],
          edit_value) -> Merged:
    clashes: dict[str, str] = {}
    name, clash = merge_name(base_name, mine_name, their_name)
    if clash:
        clashes["name"] = their_name
    groups, clash = merge_groups(base_groups, mine_groups, their_groups)
    if clash:
        clashes["groups"] = ", ".join(their_groups) or "—"
    conns, clash = merge_connections(base_conns, mine_conns, their_conns, edit_value)
    if clash:
        clashes["connections"] = ", ".join(i for i, _ in their_conns) or "—"
    return Merged(name, groups, conns, clashes)
