"""Problems, kept indexed (domain.md section 8): computed when contacts are written, read fast.

The rules are ``core.problems``'; this module stores their answers. ``contact_problem`` has a row per
live contact and problem (its reason, the connection concerned, and for a duplicate the partner);
``contact_key`` the duplicate keys of every live contact, so that finding who shares a key is one
indexed join, not a scan.

:func:`refresh` is called by the unit of work (``store.unit``) for every contact a write touched
(every contact that got an audit event), so whoever writes — the console, the CLI, an import, an
inbound message, the API — leaves the problems true when it commits. :func:`rescan` recomputes every
contact (a channel or the workspace's country changed, or the rules' :data:`VERSION` moved on).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from ccconsole.core import problems as rules
from ccconsole.core.model import Connection as CoreConnection
from ccconsole.core.model import Contact as CoreContact
from ccconsole.core.model import Status
from ccconsole.core.routing import Channels
from ccconsole.store import channels as channel_rows
from ccconsole.store.db import execute_in, run, run_many, select_in
from ccconsole.store.models import Connection, Contact, ContactKey, ContactProblem, Workspace
from ccconsole.store.unit import Scope, reading

VERSION = 1  # the version of the rules in core.problems; raise it when a rule changes
CHUNK = 1000


@dataclass(frozen=True)
class Listed:
    """One contact of a problem's list: the reason beside it, the connection concerned, the partner."""

    contact_id: int
    problem: str
    reason: str
    identity: str | None
    other_id: int | None


# --- reading ---------------------------------------------------------------------------------------


def counts(scope: Scope) -> dict[str, int]:
    """``{problem name: number of contacts that have it}`` for every problem (0 included)."""
    with reading(scope) as s:
        found: dict[str, int] = dict(s.execute(select(ContactProblem.problem, func.count())
                               .where(ContactProblem.workspace_id == scope.workspace.id)
                               .group_by(ContactProblem.problem)).all())
    return {p.value: int(found.get(p.value, 0)) for p in rules.Problem}


def at_least(s: Session, workspace_id: int, problem: str, n: int) -> bool:
    """Whether ``n`` contacts or more have ``problem`` ("": any), counting no further than ``n``."""
    having = "" if not problem else " AND problem = ?"
    found = run(s, f"SELECT count(*) FROM (SELECT 1 FROM contact_problem WHERE workspace_id = ?{having} LIMIT ?) AS f",
                (workspace_id, *([problem] if problem else []), n)).scalar_one()
    return int(found) >= n


def of_contacts(scope: Scope, problem: str | None, contact_ids: Sequence[int]) -> dict[int, list[Listed]]:
    """The stored problems of these contacts (of one ``problem``, or all), in the rules' order."""
    if not contact_ids:
        return {}
    q = select(ContactProblem).where(ContactProblem.contact_id.in_(list(contact_ids)))
    if problem is not None:
        q = q.where(ContactProblem.problem == problem)
    order = {p.value: i for i, p in enumerate(rules.Problem)}
    result: dict[int, list[Listed]] = {}
    with reading(scope) as s:
        for row in sorted(s.execute(q).scalars().all(), key=lambda r: order.get(r.problem, 99)):
            result.setdefault(row.contact_id, []).append(Listed(row.contact_id, row.problem, row.reason, row.identity,
                                                                row.other_id))
    return result


def listed(scope: Scope, problem: str, *, after: int = 0, limit: int = 50) -> list[tuple[int, str, Listed]]:
    """The contacts with ``problem`` in id order after ``after``: ``(id, problem, Listed)``; by key, so
    any page costs what the first does."""
    with reading(scope) as s:
        rows = s.execute(select(ContactProblem).where(ContactProblem.workspace_id == scope.workspace.id,
                                                      ContactProblem.problem == problem,
                                                      ContactProblem.contact_id > after)
                         .order_by(ContactProblem.contact_id).limit(limit)).scalars().all()
    return [(r.contact_id, r.problem, Listed(r.contact_id, r.problem, r.reason, r.identity, r.other_id)) for r in rows]


def ids_with(s: Session, scope: Scope, problem: str) -> list[int]:
    return list(s.execute(select(ContactProblem.contact_id).where(ContactProblem.workspace_id == scope.workspace.id,
                                                                  ContactProblem.problem == problem)
                          .order_by(ContactProblem.contact_id)).scalars())


# --- computing -------------------------------------------------------------------------------------


def load(s: Session, ids: Sequence[int]) -> dict[int, CoreContact]:
    """The live contacts among ``ids`` as the rules read them (two queries through the driver)."""
    if not ids:
        return {}
    s.flush()  # the ORM's pending writes first: these reads go around it
    conn = s.connection()
    heads = select_in(conn, "SELECT id, name, status FROM contact WHERE id {in} AND deleted_on IS NULL", list(ids))
    conns: dict[int, list[CoreConnection]] = {cid: [] for cid, _, _ in heads}
    if conns:
        for cid, identity, affinity, display in select_in(
                conn, "SELECT contact_id, identity, affinity_channel_id, display FROM connection "
                      "WHERE contact_id {in} ORDER BY contact_id, priority DESC, id", list(conns)):
            conns[cid].append(CoreConnection(identity, affinity, display))
    return {cid: CoreContact(status_of(status), tuple(conns[cid]), name or "", cid) for cid, name, status in heads}


def status_of(text: str) -> Status:
    """A stored status as the rules read it (an unknown one counts as active)."""
    try:
        return Status(text)
    except ValueError:
        return Status.ACTIVE


def refresh(s: Session, scope: Scope, contact_ids: Iterable[int], *, channels: Channels | None = None,
            known: Mapping[int, CoreContact] | None = None, facts: Mapping[int, tuple] | None = None) -> None:
    """Make the stored problems and keys of these contacts true again (deleted ones lose theirs), and
    the ``duplicate`` problem of every contact that shares a key with them, before or after.
    ``known``: some of them as the caller has just written them (live ones), so they are not read;
    ``facts``: the facts (``core.problems.facts``) of some live ones, computed already.

    Only what changed is written: a contact whose own problems are the same keeps its rows, and one
    whose keys are the same and that was nobody's duplicate is nobody's duplicate still (who shares a
    key with it could only change through a contact whose keys changed, and those are looked at)."""
    ids = sorted(set(contact_ids))
    if not ids:
        return
    ws, country = scope.workspace.id, scope.workspace.country
    chans = channels or Channels(channel_rows.rows(s, ws))
    duplicate = rules.Problem.DUPLICATE.value
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        contacts = load(s, [cid for cid in part if (not known or cid not in known) and (not facts or cid not in facts)])
        if known:
            contacts.update((cid, known[cid]) for cid in part if cid in known)
        conn = s.connection()
        old_keys: dict[int, set[str]] = {}
        for cid, key in select_in(conn, "SELECT contact_id, \"key\" FROM contact_key WHERE contact_id {in}", part):
            old_keys.setdefault(cid, set()).add(key)
        old_found: dict[int, set[tuple]] = {}
        was_duplicate: set[int] = set()
        for cid, problem, reason, identity in select_in(
                conn, "SELECT contact_id, problem, reason, identity FROM contact_problem WHERE contact_id {in}", part):
            if problem == duplicate:
                was_duplicate.add(cid)
            else:
                old_found.setdefault(cid, set()).add((problem, reason, identity))
        problem_rows: list[dict] = []
        key_rows: list[dict] = []
        found_changed, keys_changed = [], []
        new_keys: dict[int, set[str]] = {}
        for cid in part:
            contact = contacts.get(cid)
            if facts and cid in facts:
                found, keys = facts[cid]
            else:
                found, keys = rules.facts(contact, chans, country) if contact is not None else ((), frozenset())
            new_keys[cid] = {k for k in keys if len(k) <= 400}
            if set(found) != old_found.get(cid, set()):
                found_changed.append(cid)
                _rows(ws, cid, found, (), problem_rows, key_rows)
            if new_keys[cid] != old_keys.get(cid, set()):
                keys_changed.append(cid)
                _rows(ws, cid, (), new_keys[cid], problem_rows, key_rows)
        if found_changed:
            execute_in(conn, "DELETE FROM contact_problem WHERE problem <> {p} AND contact_id {in}", found_changed,
                       duplicate)
        if keys_changed:
            execute_in(conn, "DELETE FROM contact_key WHERE contact_id {in}", keys_changed)
        write(s, problem_rows, key_rows)
        again = was_duplicate | set(keys_changed)
        if again:
            shared = {k for cid in again for k in old_keys.get(cid, set()) | new_keys[cid]}
            _duplicates(s, scope, again, shared, {cid: new_keys[cid] for cid in again})


def _rows(ws: int, cid: int, found, keys, problem_rows: list[dict], key_rows: list[dict]) -> None:
    """The rows of one contact's facts (``core.problems.facts``)."""
    problem_rows.extend(dict(contact_id=cid, problem=p, workspace_id=ws, reason=reason, identity=identity,
                             other_id=None) for p, reason, identity in found)
    key_rows.extend(dict(contact_id=cid, key=k, workspace_id=ws) for k in keys if len(k) <= 400)


def write(s: Session, problem_rows: list[dict], key_rows: list[dict]) -> None:
    conn = s.connection()
    if problem_rows:
        run_many(conn, "INSERT INTO contact_problem (contact_id, problem, workspace_id, reason, identity, other_id) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                 [(r["contact_id"], r["problem"], r["workspace_id"], r["reason"], r["identity"], r.get("other_id"))
                  for r in problem_rows])
    if key_rows:
        run_many(conn, "INSERT INTO contact_key (contact_id, \"key\", workspace_id) VALUES (?, ?, ?)",
                 [(r["contact_id"], r["key"], r["workspace_id"]) for r in key_rows])


def add_computed(s: Session, scope: Scope, computed: Sequence[tuple[int, tuple, frozenset[str]]], *,
                 duplicates: bool = True) -> None:
    """Store the facts of new contacts computed elsewhere (an import's readers: ``(contact id,
    problems, keys)``), then the duplicates they make (unless ``duplicates`` is False: a bulk load
    finds them all at its end, :func:`all_duplicates`)."""
    ws = scope.workspace.id
    problem_rows: list[dict] = []
    key_rows: list[dict] = []
    keys: set[str] = set()
    for cid, found, contact_keys in computed:
        _rows(ws, cid, found, contact_keys, problem_rows, key_rows)
        keys |= contact_keys
    write(s, problem_rows, key_rows)
    if duplicates and keys:
        _duplicates(s, scope, set(), keys)


def all_duplicates(s: Session, scope: Scope) -> None:
    """The ``duplicate`` problem of every contact that shares a key with another."""
    ws = scope.workspace.id
    shared = select(ContactKey.key).where(ContactKey.workspace_id == ws).group_by(ContactKey.key) \
        .having(func.count() > 1)
    dupes = sorted(set(s.execute(select(ContactKey.contact_id).where(
        ContactKey.workspace_id == ws, ContactKey.key.in_(shared))).scalars()))
    if dupes:
        _duplicates(s, scope, set(dupes), set())


def _duplicates(s: Session, scope: Scope, touched: set[int], keys: set[str],
                known: dict[int, set[str]] | None = None) -> None:
    """The ``duplicate`` rows of the touched contacts and of every contact holding one of ``keys``
    (rewritten only where they change). ``known``: the stored keys of some contacts, just written."""
    ws, country = scope.workspace.id, scope.workspace.country
    conn = s.connection()
    holders: dict[str, set[int]] = {}
    looked_up = set(keys)
    for key, cid in _holding(s, ws, sorted(keys)):
        holders.setdefault(key, set()).add(cid)
    affected = set(touched).union(*holders.values())
    ordered = sorted(affected)
    for start in range(0, len(ordered), CHUNK):
        part = ordered[start:start + CHUNK]
        # two plain index lookups (a self-join's plan goes wrong on tables a bulk load just grew)
        mine: dict[int, set[str]] = {cid: ks for cid in part if known and (ks := known.get(cid))}
        unread = [cid for cid in part if not known or cid not in known]
        for cid, key in select_in(conn, "SELECT contact_id, \"key\" FROM contact_key WHERE contact_id {in}", unread):
            mine.setdefault(cid, set()).add(key)
        unknown = sorted({k for ks in mine.values() for k in ks} - looked_up)  # holders not known yet
        for key, cid in _holding(s, ws, unknown):
            holders.setdefault(key, set()).add(cid)
        looked_up.update(unknown)
        pairs = []
        for cid, ks in mine.items():
            others = {o for k in ks for o in holders.get(k, ()) if o != cid}
            if others:
                pairs.append((cid, min(others)))
        rows = []
        if pairs:
            contacts = load(s, sorted({c for pair in pairs for c in pair}))
            for cid, other in pairs:
                me, them = contacts.get(cid), contacts.get(other)
                if me is None or them is None:
                    continue
                found = rules.duplicate_of(me, them, country)
                if found is None:  # keys meet only through a rule duplicate_of does not name: say so plainly
                    found = rules.Found(rules.Problem.DUPLICATE, f"same address as {_who(them)}")
                rows.append(dict(contact_id=cid, problem=found.problem.value, workspace_id=ws, reason=found.reason,
                                 identity=found.identity, other_id=other))
        duplicate = rules.Problem.DUPLICATE.value
        stored = {tuple(r) for r in select_in(
            conn, "SELECT contact_id, reason, identity, other_id FROM contact_problem WHERE problem = {p} "
                  "AND contact_id {in}", part, duplicate)}
        if stored != {(r["contact_id"], r["reason"], r["identity"], r["other_id"]) for r in rows}:
            execute_in(conn, "DELETE FROM contact_problem WHERE problem = {p} AND contact_id {in}", part, duplicate)
            write(s, rows, [])


def _holding(s: Session, ws: int, keys: Sequence[str]) -> list[tuple[str, int]]:
    """``(key, contact id)`` of every contact holding one of ``keys``, by index lookups. (PostgreSQL:
    the keys are joined as a list, one lookup each; with ``key IN (...)`` its planner, misled by the
    statistics of a table a bulk load is growing in the same transaction, filtered the whole index.)"""
    if not keys:
        return []
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        sql = ("SELECT k.key, k.contact_id FROM unnest(CAST({p} AS text[])) AS wanted(key) "
               "JOIN contact_key k ON k.workspace_id = {p} AND k.key = wanted.key")
        return [(k, c) for start in range(0, len(keys), CHUNK)
                for k, c in conn.exec_driver_sql(sql.format(p="%s"), (list(keys[start:start + CHUNK]), ws))]
    return [(k, c) for k, c in select_in(conn, "SELECT \"key\", contact_id FROM contact_key WHERE workspace_id = {p} "
                                               "AND \"key\" {in}", list(keys), ws)]


def _who(contact: CoreContact) -> str:
    name = " ".join(contact.name.split())
    return f"{name} (#{contact.id})" if name else f"contact #{contact.id}"


def rescan(s: Session, scope: Scope, *, progress: Callable[[int, int], object] | None = None) -> int:
    """Recompute the problems of every live contact of the workspace (and forget those of deleted
    ones); marks the stored problems as computed with this :data:`VERSION`. Returns how many."""
    ws = scope.workspace.id
    s.execute(delete(ContactProblem).where(ContactProblem.workspace_id == ws))
    s.execute(delete(ContactKey).where(ContactKey.workspace_id == ws))
    ids = list(s.execute(select(Contact.id).where(Contact.workspace_id == ws, Contact.deleted_on.is_(None))
                         .order_by(Contact.id)).scalars())
    chans = Channels(channel_rows.rows(s, ws))
    country = scope.workspace.country
    # first every contact's own problems and keys, then the duplicates in one pass over the keys
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        problem_rows: list[dict] = []
        key_rows: list[dict] = []
        for cid, contact in load(s, part).items():
            found, keys = rules.facts(contact, chans, country)
            _rows(ws, cid, found, keys, problem_rows, key_rows)
        write(s, problem_rows, key_rows)
        if progress is not None:
            progress(min(start + CHUNK, len(ids)), len(ids))
    all_duplicates(s, scope)
    s.execute(update(Workspace).where(Workspace.id == ws).values(problems_version=VERSION))
    return len(ids)


def current(s: Session, scope: Scope) -> bool:
    """Whether the stored problems were computed with this version of the rules."""
    return s.execute(select(Workspace.problems_version).where(Workspace.id == scope.workspace.id)).scalar_one() \
        == VERSION


def affected_by_channel(s: Session, scope: Scope, channel_id: int, schemes: Sequence[str], *, gained: bool) -> set[int]:
    """The contacts whose problems a channel change can change. A channel that now routes more
    (``gained``: added or enabled) can only make an ``unreachable`` contact reachable, or an affinity
    to it fresh; one that routes less (disabled) can make any contact with a connection of its
    schemes unreachable, and affinities to it stale."""
    ws = scope.workspace.id
    found = set(s.execute(select(Connection.contact_id).where(
        Connection.workspace_id == ws, Connection.affinity_channel_id == channel_id,
        Connection.contact_id.is_not(None))).scalars())
    if gained:
        found.update(ids_with(s, scope, rules.Problem.UNREACHABLE.value))
    else:
        found.update(s.execute(select(Connection.contact_id).distinct().where(
            Connection.workspace_id == ws, Connection.scheme.in_(list(schemes)),
            Connection.contact_id.is_not(None))).scalars())
    return found
