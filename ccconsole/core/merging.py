"""Reload after a refused save: the new version of a contact with the user's unsaved edits on top.

A three-way merge per field of the Update Contact form. ``base`` is the version the form was opened
on, ``theirs`` the version saved meanwhile by someone else, ``mine`` what the form holds now.

* A field the user did not touch takes their value (their change is not undone by accident).
* A field only the user changed keeps the user's value.
* A field both changed keeps the user's value and is reported as a *clash*, with theirs shown beside
  it, so the user decides before saving again.
* Groups merge as sets: the user's additions and removals are applied to their groups.
* Connections, when the user did not change them: exactly theirs. When the user changed them but did
  not reorder: their order (so an incoming message's promotion stands), minus what the user removed,
  with the user's in-place edits and additions at the user's positions. When the user reordered: the
  user's order, with their additions at their positions and their removals standing (unless the user
  edited that connection). Affinities always come from their version.

Pure functions on plain values: no Textual, no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace


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
    their_aff: dict[str | None, int | None] = dict(theirs)  # asked for None too (a new row never stored)
    untouched = [c.identity for c in mine] == base_ids and all(c.original == c.identity for c in mine)
    if untouched:
        return [FormConn(i.partition(":")[0], edit_value(i), i, a, i) for i, a in theirs], False
    kept = {c.original: c for c in mine if c.original in base_ids}  # rows from the store (text maybe edited)
    typed = {c.identity for c in mine}

    def refreshed(c: FormConn) -> FormConn:  # their affinity for a connection the user left as it was
        return replace(c, affinity=their_aff.get(c.original)) if c.original == c.identity else c

    def theirs_new(identity: str) -> FormConn:
        return FormConn(identity.partition(":")[0], edit_value(identity), identity, their_aff[identity], identity)

    reordered = [c.original for c in mine if c.original in kept] != [i for i in base_ids if i in kept]
    result: list[FormConn] = []
    if not reordered:
        # the user did not reorder: their order, without what the user removed, with the user's edits
        for identity in their_ids:
            if identity in kept:
                result.append(refreshed(kept[identity]))
            elif identity not in base_ids and identity not in typed:
                result.append(theirs_new(identity))
        for index, c in enumerate(mine):
            edited_removed = c.original in kept and c.original not in their_ids and c.original != c.identity
            if edited_removed or c.original not in kept:  # the user's edit of a row they removed, or an addition
                # right after the row that precedes it in the form (at the top when none does)
                earlier = {m.original or m.identity for m in mine[:index]}
                anchor = next((k + 1 for k in range(len(result) - 1, -1, -1)
                               if (result[k].original or result[k].identity) in earlier), 0)
                result.insert(anchor, c)
    else:
        # the user reordered: the user's order; their additions at their place, their removals stand
        for c in mine:
            if c.original in kept and c.original == c.identity and c.original not in their_ids:
                continue
            result.append(refreshed(c) if c.original in kept else c)
        for index, identity in enumerate(their_ids):
            if identity not in base_ids and identity not in typed:
                result.insert(min(index, len(result)), theirs_new(identity))
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
