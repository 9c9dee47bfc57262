"""Cleanup (domain.md section 8): the problems, re-normalizing local numbers, merging duplicates, undo.

Problems are kept by every write (``store.unit``: the contacts an event names are computed again);
these use cases read them, and make the bulk changes that fix them. Each change is one unit of work
(a merge of several contacts, one chunk of a re-normalization) with an audit event per contact that
carries what an undo needs.
"""

from __future__ import annotations

import os
import time
import uuid as uuidlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ccconsole.core import combine
from ccconsole.core import problems as rules
from ccconsole.core.changes import META_KEYS, diff, snapshot
from ccconsole.core.views import ContactRow, ContactView, contact_snapshot
from ccconsole.errors import Conflict, NotFound, StoreError
from ccconsole.store import cleanup as rows
from ccconsole.store import contacts as contact_rows
from ccconsole.store import planner as plans
from ccconsole.store import problems as problem_rows
from ccconsole.store.problems import Listed
from ccconsole.store.unit import UnitOfWork, checkpointing, no_gc_passes, reading

if TYPE_CHECKING:
    from ccconsole.app.workspace import Workspace

PROBLEMS = tuple(p.value for p in rules.Problem)
MERGE, MERGED, RENORMALIZE, RENORMALIZE_RUN = "contact.merge", "contact.merged", "contact.renormalize", \
    "cleanup.renormalize"
UNDO_SUFFIX = ".undo"
MAX_MERGE = 100  # contacts in one merge
# a re-normalization's chunks (contacts per transaction) are sized to take about this long each
CHUNK_SECONDS = 1.0
FIRST_CHUNK, MIN_CHUNK, MAX_CHUNK = 2000, 200, 50_000
# planner processes (store.planner) decide the chunks ahead from this many local numbers on (starting
# one costs about half a second), in chunks of this many contacts (a chunk takes the writer about 0.6 s, under
# CHUNK_SECONDS; 10,000 ran 3% faster than 5,000 at 1M: fewer commits); one fewer than the cores, at
# most two (on two cores a second planner gained nothing: the writer is as busy as one planner)
PLANNER_FROM, PLANNER_CHUNK = 20_000, 10_000
PLANNERS = min(2, max(1, (os.cpu_count() or 2) - 1))


@dataclass(frozen=True)
class ProblemRow:
    """A contact of a problem's list: its table row and the reason beside it."""

    contact: ContactRow
    problem: str
    reason: str
    identity: str | None
    other_id: int | None
    other_uuid: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"uuid": self.contact.uuid, "name": self.contact.name, "urn": self.contact.priority_identity,
                "problem": self.problem, "reason": self.reason, "connection": self.identity,
                "other": self.other_uuid}


@dataclass(frozen=True)
class Fix:
    """Re-normalizing one local number: ``old`` becomes ``new`` (or not: see ``outcome``)."""

    contact_id: int
    contact_name: str
    old: str
    new: str
    outcome: rules.Outcome


@dataclass
class RenormalizePlan:
    fixes: list[Fix] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        out = {o.value: 0 for o in rules.Outcome}
        for f in self.fixes:
            out[f.outcome.value] += 1
        return out

    def examples(self, outcome: rules.Outcome, n: int = 5) -> list[Fix]:
        return [f for f in self.fixes if f.outcome == outcome][:n]

    @property
    def contacts(self) -> list[int]:
        return sorted({f.contact_id for f in self.fixes if f.outcome != rules.Outcome.DUPLICATE})


@dataclass(frozen=True)
class RenormalizeResult:
    counts: dict[str, int]
    contacts: int
    cancelled: bool
    event_id: int | None  # the run's summary event (undo it to undo the run)


@dataclass(frozen=True)
class MergeStep:
    other: ContactView
    plan: combine.Plan
    messages: int
    event_id: int | None = None  # its ``contact.merge`` event (undo it to undo this pair); None in a preview


@dataclass(frozen=True)
class MergeResult:
    survivor: ContactView
    steps: tuple[MergeStep, ...]
    keep_messages: int
    dry_run: bool
    versions: dict[int, int]  # each contact's version before the merge (to confirm a preview with)

    @property
    def clashes(self) -> list[combine.Clash]:
        seen: dict[str, combine.Clash] = {}
        for step in self.steps:
            for clash in step.plan.clashes:
                seen.setdefault(clash.attr, clash)
        return list(seen.values())


@dataclass(frozen=True)
class UndoResult:
    event_id: int
    contacts: tuple[ContactView, ...]
    dry_run: bool


class Cleanup:
    def __init__(self, ws: Workspace):
        self.ws = ws

    # --- the problems ----------------------------------------------------------------------------

    def catch_up(self) -> None:
        """Compute every problem when the stored ones are older than the rules (or never were)."""
        with reading(self.ws.scope) as s:
            if problem_rows.current(s, self.ws.scope):
                return
        self.recompute()

    def recompute(self) -> None:
        """Compute every contact's problems again (after rows were written behind the use cases' back)."""
        with self.ws.transaction() as uow:
            uow.rescan = True

    def counts(self) -> dict[str, int]:
        """``{problem: contacts that have it}``, every problem, in the order of domain.md."""
        return problem_rows.counts(self.ws.scope)

    def reasons(self, contact_ids: Sequence[int], problem: str | None = None) -> dict[int, list[Listed]]:
        """The problems (with reasons) of these contacts: of ``problem``, or all of them."""
        return problem_rows.of_contacts(self.ws.scope, problem, contact_ids)

    def listed(self, problem: str, *, after: int = 0, limit: int = 50) -> list[ProblemRow]:
        """The contacts with ``problem`` (id order, by key from ``after``) with their reasons."""
        check_problem(problem)
        found = problem_rows.listed(self.ws.scope, problem, after=after, limit=limit)
        ids = {cid for cid, _, _ in found} | {item.other_id for _, _, item in found if item.other_id}
        table = {r.id: r for r in contact_rows.rows_for(self.ws.scope, sorted(ids))}
        return [ProblemRow(table[cid], problem, item.reason, item.identity, item.other_id,
                           table[item.other_id].uuid if item.other_id in table else None)
                for cid, _, item in found if cid in table]

    # --- re-normalizing local numbers ------------------------------------------------------------

    def renormalize_plan(self) -> RenormalizePlan:
        """What re-normalizing every ``local_number`` connection would do (a dry run: nothing written)."""
        scope = self.ws.scope
        country = self.ws.info.country
        plan = RenormalizePlan()
        claimed: dict[str, int] = {}  # E.164 identities the fixes before take in place (as the run does)
        with reading(scope) as s:
            ids = problem_rows.ids_with(s, scope, rules.Problem.LOCAL_NUMBER.value)
            for start in range(0, len(ids), problem_rows.CHUNK):
                contacts = problem_rows.load(s, ids[start:start + problem_rows.CHUNK])
                wanted = {}
                for cid in sorted(contacts):  # the run's order: by contact, then connection priority
                    for conn in contacts[cid].connections:
                        new = rules.renormalize(conn.identity, country)
                        if new is not None:
                            wanted[(cid, conn.identity)] = new
                owners = contact_rows.connection_owners(scope, set(wanted.values()))
                for (cid, old), new in wanted.items():
                    owner = owners.get(new, (None, ""))[0]
                    outcome = rules.renormalize_outcome(old, new, claimed.get(new, owner), cid)
                    if outcome == rules.Outcome.IN_PLACE:
                        claimed[new] = cid
                    plan.fixes.append(Fix(cid, contacts[cid].name, old, new, outcome))
        return plan

    def renormalize(self, *, progress: Callable[[int, int], object] | None = None,
                    cancelled: Callable[[], bool] | None = None, chunk: int | None = None,
                    planner: bool | None = None) -> RenormalizeResult:
        """Re-normalize every ``local_number`` connection (domain.md section 8), in chunks that are
        each one transaction (a cancel keeps the chunks done, whole contacts only), one audit event per
        changed contact, then one summary event: undoing that one undoes the run.

        ``chunk``: contacts per transaction; by default the chunks are sized to take about
        :data:`CHUNK_SECONDS` each, which bounds how long other writers wait and how soon a cancel
        stops (bigger chunks write each index page fewer times). ``planner``: read and decide the
        next chunks in :data:`PLANNERS` other processes (``store.planner``) while this one writes, and
        here too when this one would wait for them; by default on SQLite when there are
        :data:`PLANNER_FROM` contacts or more."""
        scope = self.ws.scope
        scope.check_writable()
        with reading(scope) as s:
            ids = problem_rows.ids_with(s, scope, rules.Problem.LOCAL_NUMBER.value)
        if planner is None:
            planner = scope.dialect == "sqlite" and len(ids) >= PLANNER_FROM
        crew = None
        if planner and scope.dialect == "sqlite" and ids:
            crew = plans.Crew(scope.engine, scope.workspace.id, scope.workspace.country, ids, chunk or PLANNER_CHUNK,
                              PLANNERS)
        batch = str(uuidlib.uuid4())
        counts = {o.value: 0 for o in rules.Outcome}
        changed = 0
        stopped = False
        ledger = plans.Ledger()
        size, start, number = chunk or FIRST_CHUNK, 0, 0
        try:
            with no_gc_passes(), checkpointing(scope):  # the plans received are many small objects too
                while start < len(ids):
                    if cancelled is not None and cancelled():
                        stopped = True
                        break
                    given = crew.chunk(number) if crew is not None else None
                    if given is None:  # alone (or a planner failed: alone from here on)
                        crew = None
                        part, planned = ids[start:start + size], None
                    else:
                        part, planned = given
                    began = time.perf_counter()
                    with self.ws.transaction(bulk=True) as uow:
                        if planned is not None and ledger.usable(planned, uow.session, scope.workspace.id):
                            results = rows.write_chunk(uow.session, planned.plan, uow.now)
                            uow.facts.update(planned.facts)
                        else:  # decided here (or something its plan read changed since)
                            results = rows.renormalize_contacts(uow.session, scope, part, uow.now)
                        for done in results:
                            for outcome in done.outcomes:
                                counts[outcome] += 1
                            if done.items:
                                changed += 1
                                self._audit_renormalized(uow, done, batch)
                    ledger.record(uow.seq, results)
                    start, number = start + len(part), number + 1
                    if chunk is None:
                        took = max(time.perf_counter() - began, 0.001)
                        size = max(MIN_CHUNK, min(MAX_CHUNK, int(len(part) * CHUNK_SECONDS / took)))
                    if progress is not None:
                        progress(start, len(ids))
        finally:
            if crew is not None:
                crew.stop()
        event_id = None
        if changed:
            with self.ws.transaction() as uow:
                event_id = uow.audit_now(RENORMALIZE_RUN, after={"batch": batch, "contacts": changed, **counts,
                                                                 "cancelled": stopped})
        return RenormalizeResult(counts, changed, stopped, event_id)

    @staticmethod
    def _audit_renormalized(uow: UnitOfWork, done: rows.Renormalized, batch: str) -> None:
        if done.contact is not None:  # its problems are computed from it (a planned one comes with its facts)
            uow.known[done.contact_id] = done.contact
        uow.audit(RENORMALIZE, contact_id=done.contact_id,
                  before=snapshot(name=done.name, status=done.status, language=done.language, connections=done.before),
                  after={**snapshot(name=done.name, status=done.status, language=done.language,
                                    connections=done.after),
                         "renormalize": done.items, "batch": batch})

    def _bump(self, uow: UnitOfWork, contact: Any, before: ContactView) -> ContactView:
        s = uow.session
        if not contact_rows.bump_version(s, contact.id, before.version, uow.now):
            raise Conflict("Someone else saved this contact at the same moment; nothing was changed.")
        s.flush()
        s.expire_all()
        return contact_rows.view(s, contact_rows.find(s, self.ws.scope, contact.id))

    # --- merging ---------------------------------------------------------------------------------

    def merge(self, keep: str | int, others: Sequence[str | int], *, picks: Mapping[str, str] | None = None,
              expected: Mapping[int, int] | None = None, dry_run: bool = False) -> MergeResult:
        """Merge ``others`` into ``keep`` (domain.md section 8), pairwise in one transaction. ``picks``
        chooses ``other``'s value of a clashing attribute; ``expected`` (contact id → version) refuses
        the merge when a contact changed since the preview showed it. ``dry_run`` is the preview: the
        same merge, rolled back."""
        if not others:
            raise StoreError("Name at least one contact to merge into the one kept.")
        if len(others) >= MAX_MERGE:
            raise StoreError(f"At most {MAX_MERGE - 1} contacts can be merged into one at a time.")
        with self.ws.transaction(dry_run=dry_run) as uow:
            s, scope = uow.session, self.ws.scope
            survivor = self._find_live(s, keep)
            victims: list[Any] = []
            for ref in others:
                other = self._find_live(s, ref)
                if other.id == survivor.id:
                    raise StoreError("A contact cannot be merged with itself.")
                if other.id not in {v.id for v in victims}:
                    victims.append(other)
            locked = rows.lock_contacts(s, [survivor.id] + [v.id for v in victims])
            versions = {cid: row.version for cid, row in locked.items()}
            for cid, row in locked.items():
                if row.deleted_on is not None:  # merged or deleted by someone else since it was found
                    raise StoreError(f"{_who_row(row)} was {'merged' if row.merged_into else 'deleted'} by someone "
                                     "else meanwhile; nothing was merged.")
                if expected is not None and cid in expected and row.version != expected[cid]:
                    current = contact_rows.view(s, row)
                    raise Conflict(f"{_who(current)} was changed by someone else since the preview "
                                   f"(version {expected[cid]} → {row.version}); nothing was merged.", current=current)
            steps = []
            for other in victims:
                steps.append(self._merge_pair(uow, locked[survivor.id], locked[other.id], picks or {}))
            s.expire_all()
            result = contact_rows.view(s, contact_rows.find(s, scope, survivor.id))
            keep_messages = rows.message_count(s, survivor.id)
        return MergeResult(result, tuple(steps), keep_messages, dry_run, versions)

    def _find_live(self, s: Any, ref: str | int) -> Any:
        scope = self.ws.scope
        if isinstance(ref, str):
            merged = rows.merged_into(s, scope, ref)
            if merged is not None:
                survivor = contact_rows.merged_into(scope, ref)
                raise StoreError(f"Contact {ref.strip()} was merged into {survivor or 'a deleted contact'} already.")
        try:
            return contact_rows.find(s, scope, ref)
        except NotFound:
            raise NotFound(f"No contact '{ref}' (give a UUID or a connection such as tel:+250788383383; "
                           "deleted contacts cannot be merged).") from None

    def _merge_pair(self, uow: UnitOfWork, keep: Any, other: Any, picks: Mapping[str, str]) -> MergeStep:
        s, scope = uow.session, self.ws.scope
        a_before, b_before = contact_rows.view(s, keep), contact_rows.view(s, other)
        plan = combine.plan(a_before, b_before, self.ws.info.country, picks)
        if plan.refusal:
            raise StoreError(plan.refusal + " Nothing was merged.")
        a_conns, b_conns = rows.connection_rows(s, keep.id), rows.connection_rows(s, other.id)
        messages = rows.messages_of(s, other.id)
        undo: dict[str, Any] = {"other": other.id, "other_uuid": other.uuid, "other_version": other.version + 1,
                                "a_connections": [rows.state(r) for r in a_conns],
                                "b_connections": [rows.state(r) for r in b_conns],
                                "messages": [list(m) for m in messages], "b_groups": list(b_before.groups)}
        by_identity = {r.identity: r for r in a_conns + b_conns}
        for b_identity, a_identity in plan.dropped:
            br, ar = by_identity[b_identity], by_identity[a_identity]
            assert br.id is not None and ar.id is not None  # stored rows
            rows.repoint_messages(s, br.id, ar.id)
            if ar.affinity_channel_id is None and br.affinity_channel_id is not None:
                ar.affinity_channel_id, ar.affinity_since = br.affinity_channel_id, br.affinity_since
                ar.affinity_message_id = br.affinity_message_id
            br.contact_id = None
            br.affinity_channel_id = br.affinity_since = br.affinity_message_id = None
        for index, identity in enumerate(plan.connections):
            row = by_identity[identity]
            row.contact_id, row.priority = keep.id, 1000 - index
        for row in by_identity.values():
            s.add(row)
        s.flush()
        rows.move_messages(s, [m for m, _ in messages], keep.id)
        keep.name = plan.values.get("name") or ""
        keep.language = plan.values.get("language")
        keep.status = plan.values.get("status") or keep.status
        s.add(keep)
        fields = {k.removeprefix("fields."): v for k, v in plan.values.items() if k.startswith("fields.")}
        current = dict(a_before.fields)
        changed_fields = {k: (k, v) for k, v in fields.items() if current.get(k) != v}
        if changed_fields:
            contact_rows.set_fields(s, scope, keep.id, changed_fields)
        contact_rows.set_groups(s, scope, keep.id, plan.groups)
        rows.leave_groups(s, other.id)
        other.deleted_on, other.merged_into, other.version = uow.now, keep.id, other.version + 1
        s.add(other)
        s.flush()
        a_after = self._bump(uow, keep, a_before)
        event_id = uow.audit_now(MERGE, contact_id=keep.id, before=contact_snapshot(a_before),
                                 after={**contact_snapshot(a_after), "merge": undo})
        uow.audit(MERGED, contact_id=other.id, before=contact_snapshot(b_before),
                  after={"merged_into": keep.uuid})
        return MergeStep(b_before, plan, len(messages), None if uow.discard else event_id)

    # --- undo ------------------------------------------------------------------------------------

    def undo(self, event_id: int, *, dry_run: bool = False) -> UndoResult:
        """Undo a merge (its ``contact.merge`` or ``contact.merged`` event) or a re-normalization run
        (its summary event or any of its contacts' events), refused with what changed when a contact
        involved changed since."""
        with self.ws.transaction(dry_run=dry_run) as uow:
            s, scope = uow.session, self.ws.scope
            event = rows.event(s, scope, event_id)
            if event is None:
                raise NotFound(f"No audit event {event_id}.")
            if event.action == MERGED and event.contact_id is not None:  # the merged one's event: its merge
                event = self._merge_event_of(s, event)
            if event.action == MERGE:
                events = [event]
            elif event.action in (RENORMALIZE, RENORMALIZE_RUN):
                batch = (_load(event.after) or {}).get("batch")
                if not batch:
                    raise StoreError(f"Event {event_id} does not say which run it belongs to.")
                events = rows.batch_events(s, scope, RENORMALIZE, batch)
                run = rows.batch_events(s, scope, RENORMALIZE_RUN, batch)
                if run:
                    event = run[0]
            else:
                raise StoreError(f"Event {event_id} is a {event.action}: only a merge and a re-normalization "
                                 "can be undone.")
            assert event.id is not None  # a stored row
            if rows.later_undo(s, scope, event.id) is not None:
                raise StoreError(f"Event {event.id} was undone already.")
            restored = []
            for e in events:
                restored += self._undo_merge(uow, e) if e.action == MERGE else self._undo_renormalize(uow, e)
            if event.action == RENORMALIZE_RUN:
                uow.audit(RENORMALIZE_RUN + UNDO_SUFFIX, after={"undo_of": str(event.id), "contacts": len(restored)})
            s.flush()
            s.expire_all()
            views = tuple(contact_rows.view(s, contact_rows.find(s, scope, cid)) for cid in restored)
            undone = event.id
        return UndoResult(undone, views, dry_run)

    def _merge_event_of(self, s: Any, merged: Any) -> Any:
        for e in rows.merge_events_near(s, self.ws.scope, merged.id):
            if ((_load(e.after) or {}).get("merge") or {}).get("other") == merged.contact_id:
                return e
        raise StoreError(f"The merge of event {merged.id} is not in the audit log.")

    def _check_unchanged(self, s: Any, contact_id: int, snap: Mapping[str, Any]) -> Any:
        row = rows.lock_contacts(s, [contact_id]).get(contact_id)
        if row is None or row.deleted_on is not None:
            raise StoreError(f"Contact #{contact_id} was deleted since: nothing was undone.")
        then = {k: v for k, v in snap.items() if k not in META_KEYS}
        now = {k: v for k, v in contact_snapshot(contact_rows.view(s, row)).items() if k in then}
        changes = diff(then, now)
        if changes:
            raise StoreError(f"{_who_row(row)} changed since ({'; '.join(str(c) for c in changes[:3])}): "
                             "nothing was undone.")
        return row

    def _undo_merge(self, uow: UnitOfWork, event: Any) -> list[int]:
        s, scope = uow.session, self.ws.scope
        after, before = _load(event.after) or {}, _load(event.before) or {}
        data = after["merge"]
        keep = self._check_unchanged(s, event.contact_id, after)
        other = rows.lock_contacts(s, [data["other"]]).get(data["other"])
        if other is None or other.merged_into != keep.id or other.version != data["other_version"]:
            raise StoreError(f"Contact {data['other_uuid']} changed since the merge: nothing was undone.")
        assert other.id is not None  # a stored row
        a_before = contact_rows.view(s, keep)
        for saved in data["a_connections"] + data["b_connections"]:
            if rows.owner(s, saved["id"]) not in (None, keep.id):
                raise StoreError(f"{saved['identity']} belongs to another contact now: nothing was undone.")
        for saved in data["b_connections"] + data["a_connections"]:
            rows.restore(s, saved)
        rows.move_messages(s, [m for m, _ in data["messages"]], other.id)
        rows.set_message_connections(s, [(m, c) for m, c in data["messages"]])
        other.deleted_on, other.merged_into, other.version = None, None, other.version + 1
        s.add(other)
        contact_rows.set_groups(s, scope, other.id, data["b_groups"])
        keep.name, keep.status, keep.language = before.get("name") or "", before.get("status"), before.get("language")
        s.add(keep)
        old_fields = before.get("fields") or {}
        fields: dict[str, tuple[str, str | None]] = {k: (k, None) for k, _ in a_before.fields if k not in old_fields}
        fields.update((k, (k, v)) for k, v in old_fields.items())
        contact_rows.set_fields(s, scope, keep.id, fields)
        contact_rows.set_groups(s, scope, keep.id, before.get("groups") or [])
        s.flush()
        a_after = self._bump(uow, keep, a_before)
        b_view = contact_rows.view(s, other)
        uow.audit(MERGE + UNDO_SUFFIX, contact_id=keep.id, before=contact_snapshot(a_before),
                  after={**contact_snapshot(a_after), "undo_of": str(event.id)})
        uow.audit(MERGE + UNDO_SUFFIX, contact_id=other.id, before={"merged_into": keep.uuid},
                  after={**contact_snapshot(b_view), "undo_of": str(event.id)})
        return [keep.id, other.id]

    def _undo_renormalize(self, uow: UnitOfWork, event: Any) -> list[int]:
        s = uow.session
        after = _load(event.after) or {}
        contact = self._check_unchanged(s, event.contact_id, after)
        before_view = contact_rows.view(s, contact)
        for item in reversed(after.get("renormalize") or []):
            local = item["local"]
            if item["outcome"] == rules.Outcome.IN_PLACE.value:
                taken = contact_rows.locked_owners(s, self.ws.scope, [item["old"]])
                if taken:
                    raise StoreError(f"{item['old']} exists again since: nothing was undone.")
                row = rows.connection(s, local["id"])
                assert row is not None  # connections are never deleted
                row.identity, row.path = item["old"], item["old"].partition(":")[2]
                s.add(row)
                s.flush()
            else:
                if rows.owner(s, local["id"]) is not None:
                    raise StoreError(f"{item['old']} belongs to a contact again: nothing was undone.")
                rows.restore(s, item["target"])
                rows.restore(s, local)
                rows.set_message_connections(s, [(m, local["id"]) for m in item.get("messages") or []])
            s.flush()
        after_view = self._bump(uow, contact, before_view)
        uow.audit(RENORMALIZE + UNDO_SUFFIX, contact_id=contact.id, before=contact_snapshot(before_view),
                  after={**contact_snapshot(after_view), "undo_of": str(event.id)})
        return [contact.id]


def check_problem(name: str) -> None:
    if name not in PROBLEMS:
        raise StoreError(f"Unknown problem '{name}' ({', '.join(PROBLEMS)}).")


def _load(raw: str | None) -> dict | None:
    import json

    return json.loads(raw) if raw else None


def _who(view: ContactView) -> str:
    return view.name or (view.connections[0].identity if view.connections else view.uuid)


def _who_row(row: Any) -> str:
    return row.name or row.uuid
